import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../shared/app-error.ts';
import type { Cache } from '../cache/cache.ts';

export interface RateLimitSettings {
  ipPerMin: number;
  userPerMin: number;
}

const WINDOW_SECONDS = 60;
/** Probes and scrapes are never limited: an orchestrator must always reach them. */
const EXEMPT = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Fixed-window limits counted in the cache port, so every gateway process on the same Redis
 * shares the counters. The IP limit runs in `onRequest`, before authentication, so floods of bad
 * tokens and unknown routes are limited too; the user limit runs after authentication
 * (`preHandler`), keyed `ratelimit:{user}:{endpoint}` as in the design.
 */
export class RateLimiter {
  constructor(
    private readonly cache: Cache,
    private readonly settings: RateLimitSettings,
  ) {}

  /** Fastify `onRequest` hook. */
  readonly byIp = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (EXEMPT.has(request.url.split('?')[0] ?? '')) return;
    await this.take(`ratelimit:ip:${request.ip}`, this.settings.ipPerMin, reply);
  };

  /** Fastify `preHandler` hook, after the actor is known. */
  async byUser(userId: string, endpoint: string, reply: FastifyReply): Promise<void> {
    await this.take(`ratelimit:${userId}:${endpoint}`, this.settings.userPerMin, reply);
  }

  private async take(key: string, limit: number, reply: FastifyReply): Promise<void> {
    const { count, resetMs } = await this.cache.incr(key, WINDOW_SECONDS);
    const retryAfter = Math.max(1, Math.ceil(resetMs / 1000));
    void reply.header('x-ratelimit-limit', limit);
    void reply.header('x-ratelimit-remaining', Math.max(0, limit - count));
    if (count > limit) {
      void reply.header('retry-after', retryAfter);
      throw new AppError('RATE_LIMITED', `Too many requests; retry in ${retryAfter}s`, {
        retryAfterSeconds: retryAfter,
      });
    }
  }
}

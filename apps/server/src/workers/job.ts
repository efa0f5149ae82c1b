import type { z } from 'zod';
import type { Logger } from '../infra/log.ts';

/** How often a job is tried and how long it waits between tries; the broker queue enforces it. */
export interface RetryPolicy {
  /** Total deliveries before the message goes to the queue's dead-letter queue. */
  maxAttempts: number;
  /** Delay before retry n is `min(backoffMs * 2^(n-1), maxBackoffMs)`. */
  backoffMs: number;
  maxBackoffMs: number;
}

/**
 * One kind of background work. Its messages arrive on `queue` under one of `routingKeys`; the
 * payload (ids and storage keys, never media) is checked against `payload` before `handle` runs.
 * A handler must be idempotent: a message can be delivered again after a crash.
 */
export interface JobDefinition<P = unknown> {
  name: string;
  queue: string;
  routingKeys: readonly string[];
  payload: z.ZodType<P>;
  /** The handler's signal aborts after this long and the attempt counts as failed (retried). */
  timeoutMs: number;
  retry: RetryPolicy;
  /** `<queue>.dlq` on RabbitMQ; the in-process broker keeps its dead letters per queue too. */
  deadLetterQueue: string;
  /** How a redelivery is kept from repeating the effect; documentation for operators. */
  idempotency: string;
  handle(payload: P, ctx: JobContext): Promise<void>;
}

export interface JobContext {
  messageId: string;
  /** 1 on the first delivery. */
  attempt: number;
  /** Whether this is the last delivery before the dead-letter queue. */
  lastAttempt: boolean;
  signal: AbortSignal;
  logger: Logger;
}

/**
 * A failure that retrying cannot fix (a corrupt upload, a recipient that no longer exists). The
 * runner acks the message instead of retrying it; the handler has recorded the outcome first.
 */
export class PermanentJobError extends Error {
  override readonly name = 'PermanentJobError';
}

/** Thrown into a handler's signal when its time is up. */
export class JobTimeoutError extends Error {
  override readonly name = 'JobTimeoutError';
}

/** Keeps the payload type of a definition without widening it away. */
export function defineJob<P>(definition: JobDefinition<P>): JobDefinition<P> {
  return definition;
}

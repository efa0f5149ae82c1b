import type { Cache } from '../../infra/cache/cache.ts';
import { llmError, llmFailureOf, type LlmFailure } from '../llm/llm-error.ts';
import type { LlmProviderName, StructuredLlm, StructuredReply, StructuredRequest } from '../llm/structured-llm.ts';
import type { ApiKeyRepository, ApiKeyRow } from './api-key.repository.ts';
import type { SecretBox } from './secret-box.ts';

export interface KeyRotationPolicy {
  /** First cool-down after a failure; doubles with each consecutive failure of the key. */
  backoffMs: number;
  maxBackoffMs: number;
  /** Consecutive authentication failures after which a key is marked inactive. */
  authFailuresBeforeInactive: number;
  /** How long `apikey:{org}:{provider}:current` names the key that last worked. */
  currentTtlSeconds: number;
}

export const DEFAULT_KEY_ROTATION: KeyRotationPolicy = {
  backoffMs: 30_000,
  maxBackoffMs: 3_600_000,
  authFailuresBeforeInactive: 3,
  currentTtlSeconds: 300,
};

export interface KeyRotatingLlmDeps {
  orgId: string;
  provider: LlmProviderName;
  /** Model used when a key names none. */
  model: string;
  repo: ApiKeyRepository;
  box: SecretBox;
  cache: Cache;
  /** Builds the provider's SDK client for one key (no SDK retries: failover is done here). */
  client: (key: { apiKey: string; model: string; baseUrl?: string }) => StructuredLlm;
  clock?: () => Date;
  policy?: Partial<KeyRotationPolicy>;
  /** Told each time a key is given up for the next one (the key-failover counter). */
  onFailover?: (provider: LlmProviderName, reason: LlmFailure['reason']) => void;
}

/** Reasons that say something about the key or the provider, not about our request. */
const KEY_FAILURES: ReadonlySet<LlmFailure['reason']> = new Set(['auth', 'rate_limit', 'server', 'timeout', 'network']);

/**
 * A provider's model reached through an organisation's pool of keys (`api_keys`). Each request
 * starts at the next key in round-robin order among the keys of the best priority, skips keys
 * cooling down (`disabled_until`) or over their per-minute limit (counted in the cache), and on a
 * 401/403, 429, 5xx, timeout or network failure moves on to the next key within the same request.
 * The failed key cools down (`retry-after` when the provider sent one, else exponential backoff);
 * one that keeps failing authentication is marked inactive. Usage and failures are counted.
 * When every key fails, the last failure is thrown for the next provider to take over.
 */
export class KeyRotatingLlm implements StructuredLlm {
  readonly provider: LlmProviderName;
  readonly model: string;
  readonly #deps: KeyRotatingLlmDeps;
  readonly #policy: KeyRotationPolicy;
  readonly #clock: () => Date;

  constructor(deps: KeyRotatingLlmDeps) {
    this.#deps = deps;
    this.provider = deps.provider;
    this.model = deps.model;
    this.#policy = { ...DEFAULT_KEY_ROTATION, ...deps.policy };
    this.#clock = deps.clock ?? (() => new Date());
  }

  async generate(request: StructuredRequest, signal?: AbortSignal): Promise<StructuredReply> {
    const { orgId, provider, repo, cache } = this.#deps;
    const now = this.#clock();
    const keys = (await repo.list(orgId, provider)).filter(
      (k) => k.isActive && (!k.disabledUntil || k.disabledUntil <= now),
    );
    if (keys.length === 0) {
      throw llmError({ provider, reason: 'auth' }, `${provider}: no usable API key (all inactive or cooling down)`);
    }
    const { count } = await cache.incr(`apikey:${orgId}:${provider}:rr`, 86_400);
    let lastError: Error | undefined;
    for (const key of roundRobin(keys, count - 1)) {
      if (key.rateLimitPerMin !== null) {
        const used = await cache.incr(`apikey:ratelimit:${key.id}`, 60);
        if (used.count > key.rateLimitPerMin) continue;
      }
      const apiKey = this.#deps.box.decrypt(key.encryptedKey);
      const client = this.#deps.client({
        apiKey,
        model: key.model ?? this.model,
        baseUrl: key.baseUrl ?? undefined,
      });
      try {
        const reply = await client.generate(request, signal);
        await repo.recordSuccess(orgId, key.id, this.#clock());
        await cache.set(`apikey:${orgId}:${provider}:current`, key.id, this.#policy.currentTtlSeconds);
        return reply;
      } catch (err) {
        const failure = llmFailureOf(err);
        if (!failure || !KEY_FAILURES.has(failure.reason)) {
          // Our request or the model's output is at fault, not the key.
          await repo.recordSuccess(orgId, key.id, this.#clock());
          throw err;
        }
        await this.#cool(key, failure, (err as Error).message.replaceAll(apiKey, key.fingerprint));
        lastError = err as Error;
      }
    }
    if (lastError instanceof Error) throw lastError;
    throw llmError({ provider, reason: 'rate_limit' }, `${provider}: every usable key is over its per-minute limit`);
  }

  async #cool(key: ApiKeyRow, failure: LlmFailure, message: string): Promise<void> {
    this.#deps.onFailover?.(this.provider, failure.reason);
    const at = this.#clock();
    const n = key.consecutiveFailures + 1;
    const backoff = Math.min(this.#policy.backoffMs * 2 ** (n - 1), this.#policy.maxBackoffMs);
    const waitMs =
      failure.reason === 'rate_limit' && failure.retryAfterMs !== undefined ? failure.retryAfterMs : backoff;
    await this.#deps.repo.recordFailure(this.#deps.orgId, key.id, {
      at,
      error: `${failure.reason}${failure.status ? ` ${failure.status}` : ''}: ${message}`,
      disabledUntil: new Date(at.getTime() + waitMs),
      deactivate: failure.reason === 'auth' && n >= this.#policy.authFailuresBeforeInactive,
    });
    if (this.#policy.currentTtlSeconds > 0)
      await this.#deps.cache.del(`apikey:${this.#deps.orgId}:${this.provider}:current`);
  }
}

/** Keys in priority order; within one priority, rotated so that request n starts at key n. */
function roundRobin(keys: ApiKeyRow[], n: number): ApiKeyRow[] {
  const groups = new Map<number, ApiKeyRow[]>();
  for (const k of keys) groups.set(k.priority, [...(groups.get(k.priority) ?? []), k]);
  return [...groups.entries()]
    .sort(([a], [b]) => a - b)
    .flatMap(([, g]) => {
      const s = n % g.length;
      return [...g.slice(s), ...g.slice(0, s)];
    });
}

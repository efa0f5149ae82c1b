/**
 * Cache, rate-limit counters, sets and pub/sub. Values are strings; callers serialise.
 * Implementations: in-memory (embedded default) and Redis. Both pass `cache.contract.ts`.
 *
 * An unreachable server, or use after `close()`, fails with `AppError('SERVICE_UNAVAILABLE')`.
 * Using a set as a string (or the reverse) fails with a `WRONGTYPE` error. Pub/sub is
 * at-most-once: a message published while a subscriber is reconnecting is lost.
 */
export interface Cache {
  get(key: string): Promise<string | null>;
  /**
   * Sets a value; with `ttlSeconds` (> 0, fractions allowed) it expires after that long, without
   * it any earlier expiry is cleared.
   */
  set(key: string, value: string, ttlSeconds?: number): Promise<void>;
  /** Deletes keys; missing keys are ignored. */
  del(...keys: string[]): Promise<void>;
  /**
   * Atomically increments a counter. The expiry is set when the counter is created and is not
   * extended by later increments (a fixed window). Returns the new count and the milliseconds
   * left before the window resets.
   */
  incr(key: string, windowSeconds: number): Promise<{ count: number; resetMs: number }>;
  sadd(key: string, ...members: string[]): Promise<void>;
  srem(key: string, ...members: string[]): Promise<void>;
  smembers(key: string): Promise<string[]>;
  /** Publishes to every subscriber of the channel in every process sharing this cache. */
  publish(channel: string, message: string): Promise<void>;
  /** Subscribes; resolves once the subscription is active. Returns an unsubscribe function. */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

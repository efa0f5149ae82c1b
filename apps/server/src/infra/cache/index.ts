import type { Cache } from './cache.ts';
import { MemoryCache, type MemoryCacheHub } from './memory-cache.ts';
import { RedisCache } from './redis-cache.ts';
import type { Config } from '../../config.ts';

export type { Cache } from './cache.ts';
export { MemoryCache, MemoryCacheHub } from './memory-cache.ts';
export { RedisCache } from './redis-cache.ts';

export interface CreateCacheOptions {
  /** Receives connection losses and errors thrown by subscriber callbacks. */
  onError?: (err: unknown) => void;
  /** In-memory only: share keys with other caches of this hub (processes simulated in one test). */
  hub?: MemoryCacheHub;
}

/**
 * The cache chosen by `config.cache.kind`. A Redis cache is pinged once, so a wrong `REDIS_URL`
 * stops boot with SERVICE_UNAVAILABLE instead of failing the first request.
 */
export async function createCache(config: Pick<Config, 'cache'>, options: CreateCacheOptions = {}): Promise<Cache> {
  if (config.cache.kind === 'memory') return new MemoryCache({ hub: options.hub, onError: options.onError });
  const { url, keyPrefix, sentinel } = config.cache;
  const cache = new RedisCache({ url, keyPrefix, sentinel, onError: options.onError });
  try {
    await cache.ping();
  } catch (err) {
    await cache.close();
    throw err;
  }
  return cache;
}

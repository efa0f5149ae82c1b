import type { Counter } from 'prom-client';
import type { Cache } from './cache.ts';

/**
 * The same cache, counting reads for the hit-rate series (`parley_cache_requests_total`): a `get`
 * that finds a value is a hit, `null` a miss, a failure an error (and is rethrown unchanged).
 * Everything else is passed through untouched, so the wrapper keeps the port's contract.
 */
export function instrumentCache(cache: Cache, metrics: { cacheRequests: Counter<'operation' | 'result'> }): Cache {
  const counter = metrics.cacheRequests;
  return {
    async get(key) {
      try {
        const value = await cache.get(key);
        counter.inc({ operation: 'get', result: value === null ? 'miss' : 'hit' });
        return value;
      } catch (error) {
        counter.inc({ operation: 'get', result: 'error' });
        throw error;
      }
    },
    set: (key, value, ttlSeconds) => cache.set(key, value, ttlSeconds),
    del: (...keys) => cache.del(...keys),
    incr: (key, windowSeconds) => cache.incr(key, windowSeconds),
    sadd: (key, ...members) => cache.sadd(key, ...members),
    srem: (key, ...members) => cache.srem(key, ...members),
    smembers: (key) => cache.smembers(key),
    publish: (channel, message) => cache.publish(channel, message),
    subscribe: (channel, onMessage) => cache.subscribe(channel, onMessage),
    ping: () => cache.ping(),
    close: () => cache.close(),
  };
}

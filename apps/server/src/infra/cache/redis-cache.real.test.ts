import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheContract } from './cache.contract.ts';
import { createCache } from './index.ts';
import { RedisCache } from './redis-cache.ts';
import { isAppError } from '../../shared/app-error.ts';
import { REAL, realService } from '../../shared/testing/real-services.ts';

// One prefix per run keeps this run's keys apart from anything else on the server; removed at the end.
const runPrefix = `parley-test:${randomUUID().slice(0, 8)}:`;
let admin: Redis;

beforeAll(async () => {
  await realService('Redis', REAL.redisUrl);
  admin = new Redis(REAL.redisUrl, { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  if (!admin) return;
  const keys = await admin.keys(`${runPrefix}*`);
  if (keys.length) await admin.del(...keys);
  await admin.quit();
});

cacheContract('redis', () => ({
  client: async () => new RedisCache({ url: REAL.redisUrl, keyPrefix: runPrefix }),
}));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function connectionIds(name: string): Promise<string[]> {
  const list = (await admin.call('CLIENT', 'LIST')) as string;
  return list
    .split('\n')
    .filter((line) => new RegExp(`\\bname=${name}(:sub)?\\s`).test(line))
    .map((line) => /\bid=(\d+)/.exec(line)?.[1] ?? '')
    .filter(Boolean);
}

describe('RedisCache', () => {
  it('prefixes every key it writes', async () => {
    const cache = new RedisCache({ url: REAL.redisUrl, keyPrefix: runPrefix });
    await cache.set('prefixed', 'v');
    await cache.sadd('prefixed-set', 'm');
    expect(await admin.get(`${runPrefix}prefixed`)).toBe('v');
    expect(await admin.smembers(`${runPrefix}prefixed-set`)).toEqual(['m']);
    expect(await admin.exists('prefixed')).toBe(0);
    await cache.close();
  });

  it('reconnects and re-subscribes after the server kills its connections', async () => {
    const name = `parley-test-${randomUUID().slice(0, 8)}`;
    const cache = new RedisCache({ url: REAL.redisUrl, keyPrefix: runPrefix, connectionName: name, onError: () => {} });
    const got: string[] = [];
    await cache.subscribe('reconnect', (m) => got.push(m));
    await cache.set('before', '1');

    const ids = await connectionIds(name);
    expect(ids).toHaveLength(2);
    for (const id of ids) await admin.call('CLIENT', 'KILL', 'ID', id);

    // Commands issued while the client reconnects wait in its offline queue and then succeed.
    await cache.set('after', '2');
    expect(await cache.get('before')).toBe('1');
    expect(await cache.get('after')).toBe('2');
    const newIds = await connectionIds(name);
    expect(newIds.some((id) => ids.includes(id))).toBe(false);

    // Pub/sub is at-most-once: a message published before the re-subscription lands is lost,
    // so keep publishing until one arrives.
    const deadline = Date.now() + 20_000;
    while (got.length === 0 && Date.now() < deadline) {
      await cache.publish('reconnect', 'ping');
      await sleep(100);
    }
    expect(got[0]).toBe('ping');
    await cache.close();
    // close() quits both connections; the server drops them once it has read the QUIT.
    const deadline2 = Date.now() + 15_000;
    while ((await connectionIds(name)).length > 0 && Date.now() < deadline2) await sleep(20);
    expect(await connectionIds(name)).toEqual([]);
  });

  it('fails with SERVICE_UNAVAILABLE when Redis cannot be reached, and still closes', async () => {
    const free = net.createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
    const port = (free.address() as net.AddressInfo).port;
    await new Promise<void>((r) => free.close(() => r()));

    const errors: unknown[] = [];
    const cache = new RedisCache({
      url: `redis://127.0.0.1:${port}`,
      maxRetriesPerRequest: 1,
      maxReconnectDelayMs: 100,
      onError: (e) => errors.push(e),
    });
    const err: unknown = await cache.ping().catch((e: unknown) => e);
    expect(isAppError(err) && err.code).toBe('SERVICE_UNAVAILABLE');
    const subErr: unknown = await cache.subscribe('x', () => {}).catch((e: unknown) => e);
    expect(isAppError(subErr) && subErr.code).toBe('SERVICE_UNAVAILABLE');
    // Reported once per connection (commands + subscriber) per outage, not per reconnection attempt.
    expect(errors).toHaveLength(2);
    await cache.close();
  });
});

describe('createCache', () => {
  it('builds a Redis cache for a redis URL, checking the server is there', async () => {
    const cache = await createCache({ cache: { kind: 'redis', url: REAL.redisUrl, keyPrefix: 'parley-test:' } });
    expect(cache).toBeInstanceOf(RedisCache);
    await cache.ping();
    await cache.close();
  });
});

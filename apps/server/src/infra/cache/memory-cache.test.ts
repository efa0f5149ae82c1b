import { describe, expect, it } from 'vitest';
import { cacheContract } from './cache.contract.ts';
import { createCache } from './index.ts';
import { MemoryCache, MemoryCacheHub } from './memory-cache.ts';

cacheContract('memory', () => {
  const hub = new MemoryCacheHub();
  return { client: async () => new MemoryCache({ hub }) };
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('MemoryCache', () => {
  it('sweeps expired keys that nobody reads again', async () => {
    const hub = new MemoryCacheHub(20);
    const cache = new MemoryCache({ hub });
    await cache.set('gone', 'v', 0.05);
    await cache.set('kept', 'v');
    expect(hub.size).toBe(2);
    const deadline = Date.now() + 15_000;
    while (hub.size !== 1 && Date.now() < deadline) await sleep(20);
    expect(hub.size).toBe(1);
    await cache.close();
  });

  it('keeps clients on different hubs apart', async () => {
    const a = new MemoryCache();
    const b = new MemoryCache();
    await a.set('k', 'v');
    expect(await b.get('k')).toBeNull();
    const got: string[] = [];
    await b.subscribe('ch', (m) => got.push(m));
    await a.publish('ch', 'x');
    await b.publish('ch', 'y');
    const deadline = Date.now() + 15_000;
    while (got.length < 1 && Date.now() < deadline) await sleep(10);
    await sleep(20);
    expect(got).toEqual(['y']);
    await Promise.all([a.close(), b.close()]);
  });

  it('reports a subscriber that throws and still delivers to the others', async () => {
    const hub = new MemoryCacheHub();
    const errors: unknown[] = [];
    const cache = new MemoryCache({ hub, onError: (e) => errors.push(e) });
    const got: string[] = [];
    await cache.subscribe('ch', () => {
      throw new Error('boom');
    });
    await cache.subscribe('ch', (m) => got.push(m));
    await cache.publish('ch', 'x');
    const deadline = Date.now() + 15_000;
    while ((got.length < 1 || errors.length < 1) && Date.now() < deadline) await sleep(10);
    expect(got).toEqual(['x']);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('boom');
    await cache.close();
  });

  it('does not deliver to a client that has been closed', async () => {
    const hub = new MemoryCacheHub();
    const [pub, sub, witness] = [new MemoryCache({ hub }), new MemoryCache({ hub }), new MemoryCache({ hub })];
    const got: string[] = [];
    const seen: string[] = [];
    await sub.subscribe('ch', (m) => got.push(m));
    await witness.subscribe('ch', (m) => seen.push(m));
    await sub.close();
    await pub.publish('ch', 'x');
    const deadline = Date.now() + 15_000;
    while (seen.length < 1 && Date.now() < deadline) await sleep(10);
    expect(seen).toEqual(['x']);
    expect(got).toEqual([]);
    await Promise.all([pub.close(), witness.close()]);
  });
});

describe('createCache', () => {
  it('builds the in-memory cache when no Redis is configured', async () => {
    const cache = await createCache({ cache: { kind: 'memory' } });
    expect(cache).toBeInstanceOf(MemoryCache);
    await cache.set('k', 'v');
    expect(await cache.get('k')).toBe('v');
    await cache.close();
  });
});

/**
 * The behaviour every Cache implementation must have. `memory-cache.test.ts` and
 * `redis-cache.real.test.ts` each run it against their adapter.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Cache } from './cache.ts';
import { isAppError } from '../../shared/app-error.ts';

export interface CacheHarness {
  /** A new client of the same backing store, as another process would have. */
  client(): Promise<Cache>;
  /** Runs after each test, once the clients are closed. */
  cleanup?(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` returns true; timing margins are wide because the test machine is shared. */
async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(20);
  }
}

export function cacheContract(name: string, makeHarness: () => CacheHarness): void {
  describe(`Cache contract: ${name}`, () => {
    let harness: CacheHarness;
    let clients: Cache[];
    let ns: string;
    const key = (k: string) => `${ns}:${k}`;
    const client = async () => {
      const c = await harness.client();
      clients.push(c);
      return c;
    };

    beforeEach(() => {
      harness = makeHarness();
      clients = [];
      ns = `t-${randomUUID().slice(0, 8)}`;
    });

    afterEach(async () => {
      await Promise.all(clients.map((c) => c.close()));
      await harness.cleanup?.();
    });

    it('stores, overwrites and deletes string values', async () => {
      const cache = await client();
      expect(await cache.get(key('missing'))).toBeNull();
      await cache.set(key('a'), 'one');
      await cache.set(key('b'), 'two');
      expect(await cache.get(key('a'))).toBe('one');
      await cache.set(key('a'), 'uno');
      expect(await cache.get(key('a'))).toBe('uno');
      await cache.del(key('a'), key('b'), key('never-set'));
      expect(await cache.get(key('a'))).toBeNull();
      expect(await cache.get(key('b'))).toBeNull();
      await cache.del();
    });

    it('shares values between clients of the same store', async () => {
      const [a, b] = [await client(), await client()];
      await a.set(key('shared'), 'from a');
      expect(await b.get(key('shared'))).toBe('from a');
      await b.del(key('shared'));
      expect(await a.get(key('shared'))).toBeNull();
    });

    it('expires a value after its TTL while keeping values without one', async () => {
      const cache = await client();
      await cache.set(key('short'), 'v', 0.2);
      await cache.set(key('long'), 'v', 120);
      await cache.set(key('forever'), 'v');
      expect(await cache.get(key('long'))).toBe('v');
      await eventually(async () => (await cache.get(key('short'))) === null, 'the short-TTL key to expire');
      expect(await cache.get(key('long'))).toBe('v');
      expect(await cache.get(key('forever'))).toBe('v');
    });

    it('clears the TTL when a key is set again without one', async () => {
      const cache = await client();
      await cache.set(key('k'), 'first', 0.2);
      await cache.set(key('k'), 'second');
      await cache.set(key('witness'), 'v', 0.2);
      await eventually(async () => (await cache.get(key('witness'))) === null, 'the witness key to expire');
      expect(await cache.get(key('k'))).toBe('second');
    });

    it('refuses a TTL or window that is not a positive number', async () => {
      const cache = await client();
      await expect(cache.set(key('k'), 'v', 0)).rejects.toThrow(/TTL/);
      await expect(cache.set(key('k'), 'v', -5)).rejects.toThrow(/TTL/);
      await expect(cache.set(key('k'), 'v', Number.NaN)).rejects.toThrow(/TTL/);
      await expect(cache.incr(key('n'), 0)).rejects.toThrow(/TTL/);
      expect(await cache.get(key('k'))).toBeNull();
    });

    it('counts 200 concurrent increments from two clients exactly once each', async () => {
      const [a, b] = [await client(), await client()];
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).incr(key('hits'), 60)),
      );
      const counts = results.map((r) => r.count).sort((x, y) => x - y);
      expect(counts).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      expect(await a.get(key('hits'))).toBe('200');
    });

    it('reports a resetMs within the window that never grows (a fixed window)', async () => {
      const cache = await client();
      const first = await cache.incr(key('w'), 60);
      expect(first.count).toBe(1);
      expect(first.resetMs).toBeGreaterThan(30_000);
      expect(first.resetMs).toBeLessThanOrEqual(60_000);
      await sleep(30);
      const second = await cache.incr(key('w'), 60);
      expect(second.count).toBe(2);
      expect(second.resetMs).toBeGreaterThan(0);
      expect(second.resetMs).toBeLessThanOrEqual(first.resetMs);
    });

    it('starts a new window at 1 once the previous window has expired', async () => {
      const cache = await client();
      expect((await cache.incr(key('w'), 0.3)).count).toBe(1);
      expect((await cache.incr(key('w'), 0.3)).count).toBe(2);
      let last = { count: 0, resetMs: 0 };
      await eventually(async () => {
        last = await cache.incr(key('w'), 0.3);
        return last.count === 1;
      }, 'the counter window to reset');
      expect(last.resetMs).toBeLessThanOrEqual(300);
      expect(last.resetMs).toBeGreaterThan(0);
    });

    it('adds, removes and lists set members, shared between clients', async () => {
      const [a, b] = [await client(), await client()];
      expect(await a.smembers(key('s'))).toEqual([]);
      await a.sadd(key('s'), 'x', 'y', 'x');
      await b.sadd(key('s'), 'z');
      await a.sadd(key('s'));
      expect((await b.smembers(key('s'))).sort()).toEqual(['x', 'y', 'z']);
      await b.srem(key('s'), 'y', 'not-a-member');
      expect((await a.smembers(key('s'))).sort()).toEqual(['x', 'z']);
      await a.srem(key('s'), 'x', 'z');
      expect(await a.smembers(key('s'))).toEqual([]);
      await a.srem(key('never'), 'x');
    });

    it('refuses to use a set as a string or a string as a set', async () => {
      const cache = await client();
      await cache.sadd(key('set'), 'm');
      await cache.set(key('str'), 'v');
      await expect(cache.get(key('set'))).rejects.toThrow(/WRONGTYPE/);
      await expect(cache.sadd(key('str'), 'm')).rejects.toThrow(/WRONGTYPE/);
      await expect(cache.incr(key('set'), 10)).rejects.toThrow(/WRONGTYPE/);
      await expect(cache.incr(key('str'), 10)).rejects.toThrow(/not an integer/);
    });

    it('delivers a published message, in order, to subscribers on other clients', async () => {
      const [pub, sub1, sub2] = [await client(), await client(), await client()];
      const got1: string[] = [];
      const got2: string[] = [];
      await sub1.subscribe(key('ch'), (m) => got1.push(m));
      await sub2.subscribe(key('ch'), (m) => got2.push(m));
      const sent = Array.from({ length: 20 }, (_, i) => `m${i}`);
      for (const m of sent) await pub.publish(key('ch'), m);
      await eventually(() => got1.length === 20 && got2.length === 20, 'both subscribers to get 20 messages');
      expect(got1).toEqual(sent);
      expect(got2).toEqual(sent);
    });

    it('delivers to several subscriptions on one client and not across channels', async () => {
      const [pub, sub] = [await client(), await client()];
      const a: string[] = [];
      const b: string[] = [];
      const other: string[] = [];
      await sub.subscribe(key('ch'), (m) => a.push(m));
      await sub.subscribe(key('ch'), (m) => b.push(m));
      await sub.subscribe(key('other'), (m) => other.push(m));
      await pub.publish(key('ch'), 'hello');
      await pub.publish(key('other'), 'done');
      await eventually(() => other.length === 1, 'the message on the other channel');
      expect(a).toEqual(['hello']);
      expect(b).toEqual(['hello']);
      expect(other).toEqual(['done']);
    });

    it('stops delivering after unsubscribe while other subscriptions keep receiving', async () => {
      const [pub, sub] = [await client(), await client()];
      const dropped: string[] = [];
      const kept: string[] = [];
      const witness: string[] = [];
      const unsubscribe = await sub.subscribe(key('ch'), (m) => dropped.push(m));
      await sub.subscribe(key('ch'), (m) => kept.push(m));
      await sub.subscribe(key('witness'), (m) => witness.push(m));
      await pub.publish(key('ch'), 'before');
      await eventually(() => dropped.length === 1 && kept.length === 1, 'the first message');
      await unsubscribe();
      await unsubscribe();
      await pub.publish(key('ch'), 'after');
      // Messages reach one client in publish order, so once the witness arrives, 'after' has too.
      await pub.publish(key('witness'), 'w');
      await eventually(() => witness.length === 1, 'the witness message');
      expect(kept).toEqual(['before', 'after']);
      expect(dropped).toEqual(['before']);
    });

    it('ends every subscription when the last listener of a channel unsubscribes', async () => {
      const [pub, sub] = [await client(), await client()];
      const got: string[] = [];
      const witness: string[] = [];
      const off = await sub.subscribe(key('ch'), (m) => got.push(m));
      await sub.subscribe(key('witness'), (m) => witness.push(m));
      await off();
      await pub.publish(key('ch'), 'lost');
      await pub.publish(key('witness'), 'w');
      await eventually(() => witness.length === 1, 'the witness message');
      expect(got).toEqual([]);
      // Subscribing again after a full unsubscribe works.
      await sub.subscribe(key('ch'), (m) => got.push(m));
      await pub.publish(key('ch'), 'again');
      await eventually(() => got.length === 1, 'the message after re-subscribing');
      expect(got).toEqual(['again']);
    });

    it('answers ping, closes idempotently and refuses use after close', async () => {
      const cache = await client();
      await cache.ping();
      await cache.set(key('k'), 'v');
      await cache.close();
      await cache.close();
      const err: unknown = await cache.get(key('k')).catch((e: unknown) => e);
      expect(isAppError(err) && err.code).toBe('SERVICE_UNAVAILABLE');
      await expect(cache.ping()).rejects.toThrow();
      // The data outlives the client that wrote it.
      const other = await client();
      expect(await other.get(key('k'))).toBe('v');
    });
  });
}

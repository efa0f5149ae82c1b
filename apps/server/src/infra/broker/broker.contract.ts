/**
 * The behaviour every Broker implementation must have. `memory-broker.test.ts` and
 * `amqp-broker.real.test.ts` each run it against their adapter.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Broker, BrokerMessage, Consumer, QueueStats, Topology } from './broker.ts';
import { isAppError } from '../../shared/app-error.ts';

export interface BrokerHarness {
  /** A new broker instance on the shared backend, as another process would have; declares the topology. */
  connect(topology: Topology): Promise<Broker>;
  /** Removes whatever the topology declared; runs after the test's brokers are closed. */
  cleanup?(topology: Topology): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` holds; margins are wide because the test machine is small and shared. */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(25);
  }
}

/** A promise to hold a handler open until the test releases it. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

/** Three queues on one exchange, named uniquely so runs never share server-side state. */
export function testTopology(id = randomUUID().slice(0, 8)): Topology {
  return {
    exchange: `parley.test.${id}`,
    queues: [
      { name: `parley.test.${id}.a`, bindings: ['order.*.created'], maxAttempts: 3, backoffMs: 100, maxBackoffMs: 200 },
      { name: `parley.test.${id}.b`, bindings: ['order.#'], maxAttempts: 2, backoffMs: 10 },
      { name: `parley.test.${id}.c`, bindings: ['audit.*', 'audit.#.urgent'], maxAttempts: 1, backoffMs: 10 },
    ],
  };
}

export function brokerContract(name: string, makeHarness: () => BrokerHarness): void {
  describe(`Broker contract: ${name}`, () => {
    let harness: BrokerHarness;
    let topology: Topology;
    let brokers: Broker[];
    let A: string;
    let B: string;
    let C: string;

    const connect = async () => {
      const b = await harness.connect(topology);
      brokers.push(b);
      return b;
    };
    const statsOf = async (broker: Broker, queue: string): Promise<QueueStats> => {
      const s = (await broker.stats()).find((x) => x.queue === queue);
      if (!s) throw new Error(`no stats for ${queue}`);
      return s;
    };
    /** Consumes into an array; each handler resolves at once. */
    const collect = async (broker: Broker, queue: string, prefetch = 1) => {
      const got: BrokerMessage[] = [];
      const consumer = await broker.consume(queue, async (m) => void got.push(m), { prefetch });
      return { got, consumer };
    };

    beforeEach(() => {
      harness = makeHarness();
      topology = testTopology();
      brokers = [];
      [A, B, C] = topology.queues.map((q) => q.name) as [string, string, string];
    });

    afterEach(async () => {
      await Promise.allSettled(brokers.map((b) => b.close()));
      await harness.cleanup?.(topology);
    });

    it('delivers the payload, routing key, message id and headers it was given', async () => {
      const broker = await connect();
      const { got } = await collect(broker, A);
      const payload = {
        sessionId: 's-1',
        storageKey: 'frames/s-1/0001.jpg',
        n: 3,
        nested: { ok: true, list: [1, 'x'] },
      };
      await broker.publish('order.eu.created', payload, {
        messageId: 'm-fixed',
        headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tenant: 'org-1' },
      });
      await broker.publish('order.us.created', { second: true });
      await eventually(() => got.length === 2, 'two deliveries');
      expect(got[0]).toEqual({
        messageId: 'm-fixed',
        routingKey: 'order.eu.created',
        payload,
        headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tenant: 'org-1' },
        attempt: 1,
      });
      expect(got[1]!.messageId).toMatch(/^[0-9a-f-]{36}$/);
      expect(got[1]!.headers).toEqual({});
    });

    it('routes by AMQP topic rules: * is one word, # is zero or more, a key reaches every matching queue once', async () => {
      const broker = await connect();
      const [a, b, c] = [await collect(broker, A), await collect(broker, B), await collect(broker, C)];
      const keys = [
        'order.eu.created', // a, b
        'order', // b (# matches zero words)
        'order.eu.x.created', // b (* is exactly one word)
        'order.created', // b
        'audit.login', // c
        'audit.urgent', // c once, though both of its patterns match
        'audit.x.y.urgent', // c
        'audit', // none
        'audit.x.y', // none
        'nothing.here', // none
        'orders.eu.created', // none
      ];
      for (const key of keys) await broker.publish(key, { key });
      // Queues are FIFO, so once the sentinels arrive everything routed before them has too.
      await broker.publish('order.sentinel.created', { key: 'sentinel' });
      await broker.publish('audit.sentinel', { key: 'sentinel' });
      await eventually(
        () => [a, b, c].every(({ got }) => got.some((m) => (m.payload as { key: string }).key === 'sentinel')),
        'the sentinels on every queue',
      );
      const keysOf = (got: BrokerMessage[]) => got.map((m) => m.routingKey);
      expect(keysOf(a.got)).toEqual(['order.eu.created', 'order.sentinel.created']);
      expect(keysOf(b.got)).toEqual([
        'order.eu.created',
        'order',
        'order.eu.x.created',
        'order.created',
        'order.sentinel.created',
      ]);
      expect(keysOf(c.got)).toEqual(['audit.login', 'audit.urgent', 'audit.x.y.urgent', 'audit.sentinel']);
    });

    it('delivers every message at least once, in publish order for a single consumer', async () => {
      const broker = await connect();
      const sent = Array.from({ length: 40 }, (_, i) => `m${i}`);
      for (const id of sent) await broker.publish('order.eu.created', { id }, { messageId: id });
      const { got } = await collect(broker, A);
      await eventually(() => got.length >= sent.length, '40 deliveries');
      expect(got.map((m) => m.messageId)).toEqual(sent);
      await eventually(async () => (await statsOf(broker, A)).depth === 0, 'an empty queue');
    });

    it('shares a queue between competing consumers, each holding at most its prefetch', async () => {
      const [one, two] = [await connect(), await connect()];
      const release = gate();
      const held: Record<string, string[]> = { one: [], two: [] };
      const handler = (who: 'one' | 'two') => async (m: BrokerMessage) => {
        held[who]!.push(m.messageId);
        await release.wait;
      };
      await one.consume(A, handler('one'), { prefetch: 2 });
      await two.consume(A, handler('two'), { prefetch: 1 });
      for (let i = 0; i < 5; i++) await one.publish('order.eu.created', { i }, { messageId: `p${i}` });
      await eventually(() => held.one!.length + held.two!.length === 3, 'three messages in flight');
      await eventually(async () => (await statsOf(one, A)).depth === 2, 'two messages left waiting');
      expect(held.one).toHaveLength(2);
      expect(held.two).toHaveLength(1);
      const stats = await statsOf(two, A);
      expect(stats.consumers).toBe(2);
      release.open();
      await eventually(() => held.one!.length + held.two!.length === 5, 'all five handled');
      expect([...held.one!, ...held.two!].sort()).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
    });

    it('retries a failing handler with backoff, then dead-letters it after maxAttempts', async () => {
      const broker = await connect();
      const seen: { attempt: number; at: number; m: BrokerMessage }[] = [];
      await broker.consume(A, async (m) => {
        seen.push({ attempt: m.attempt, at: performance.now(), m });
        throw new Error('handler failed');
      });
      await broker.publish('order.eu.created', { id: 1 }, { messageId: 'poison', headers: { traceparent: 't-1' } });
      await eventually(async () => (await statsOf(broker, A)).deadLetters === 1, 'a dead letter');
      expect(seen.map((s) => s.attempt)).toEqual([1, 2, 3]);
      for (const { m } of seen) {
        expect(m).toMatchObject({ messageId: 'poison', routingKey: 'order.eu.created', payload: { id: 1 } });
        expect(m.headers).toEqual({ traceparent: 't-1' });
      }
      // Backoff 100 ms then 200 ms; a loaded machine only makes the gaps longer. Small slack for timer rounding.
      expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(90);
      expect(seen[2]!.at - seen[1]!.at).toBeGreaterThanOrEqual(190);
      const stats = await statsOf(broker, A);
      expect(stats.depth).toBe(0);
    });

    it('acks a handler that succeeds on a retry and dead-letters nothing', async () => {
      const broker = await connect();
      const attempts: number[] = [];
      await broker.consume(A, async (m) => {
        attempts.push(m.attempt);
        if (m.attempt === 1) throw new Error('transient');
      });
      await broker.publish('order.eu.created', { id: 1 });
      await eventually(() => attempts.length === 2, 'the retry');
      // A later message passing through proves the retried one was acked and not requeued.
      await broker.publish('order.eu.created', { id: 2 });
      await eventually(() => attempts.length === 3, 'the next message');
      expect(attempts).toEqual([1, 2, 1]);
      const stats = await statsOf(broker, A);
      expect(stats).toMatchObject({ depth: 0, deadLetters: 0 });
    });

    it('dead-letters at once when maxAttempts is 1', async () => {
      const broker = await connect();
      const attempts: number[] = [];
      await broker.consume(C, async (m) => {
        attempts.push(m.attempt);
        throw new Error('no retries here');
      });
      await broker.publish('audit.login', {});
      await eventually(async () => (await statsOf(broker, C)).deadLetters === 1, 'a dead letter');
      expect(attempts).toEqual([1]);
    });

    it('never redelivers an acked message, even to a later consumer', async () => {
      const first = await connect();
      const c1 = await collect(first, A);
      await first.publish('order.eu.created', {}, { messageId: 'acked' });
      await first.publish('order.eu.created', {}, { messageId: 'sentinel-1' });
      await eventually(() => c1.got.length === 2, 'two deliveries');
      await c1.consumer.close();
      await first.close();

      const second = await connect();
      const c2 = await collect(second, A);
      await second.publish('order.eu.created', {}, { messageId: 'sentinel-2' });
      await eventually(() => c2.got.length >= 1, 'the second sentinel');
      expect(c1.got.map((m) => m.messageId)).toEqual(['acked', 'sentinel-1']);
      expect(c2.got.map((m) => m.messageId)).toEqual(['sentinel-2']);
      expect(await statsOf(second, A)).toMatchObject({ depth: 0, deadLetters: 0 });
    });

    it('hands an unacked message to another consumer when the first one dies', async () => {
      const dying = await connect();
      const stuck = gate();
      const taken: BrokerMessage[] = [];
      await dying.consume(A, async (m) => {
        taken.push(m);
        await stuck.wait;
      });
      await dying.publish('order.eu.created', { job: 1 }, { messageId: 'orphan' });
      await eventually(() => taken.length === 1, 'the first consumer to take the message');
      await dying.close();

      const survivor = await connect();
      const { got } = await collect(survivor, A);
      await eventually(() => got.length === 1, 'the redelivery');
      expect(got[0]).toMatchObject({ messageId: 'orphan', payload: { job: 1 }, attempt: 1 });
      // The dead consumer's handler finishing late must not ack or fail anything.
      stuck.open();
      await sleep(100);
      expect(await statsOf(survivor, A)).toMatchObject({ depth: 0, deadLetters: 0 });
      expect(got).toHaveLength(1);
    });

    it('lets a closing consumer finish its in-flight message and leaves the rest queued', async () => {
      const broker = await connect();
      const release = gate();
      const handled: string[] = [];
      const consumer: Consumer = await broker.consume(A, async (m) => {
        await release.wait;
        handled.push(m.messageId);
      });
      await broker.publish('order.eu.created', {}, { messageId: 'm1' });
      await broker.publish('order.eu.created', {}, { messageId: 'm2' });
      await eventually(async () => (await statsOf(broker, A)).depth === 1, 'one message in flight');
      let closed = false;
      const closing = consumer.close().then(() => (closed = true));
      await sleep(50);
      expect(closed).toBe(false);
      release.open();
      await closing;
      expect(handled).toEqual(['m1']);
      await eventually(async () => (await statsOf(broker, A)).consumers === 0, 'no consumers');
      expect((await statsOf(broker, A)).depth).toBe(1);
      const next = await collect(broker, A);
      await eventually(() => next.got.length === 1, 'the queued message');
      expect(next.got[0]!.messageId).toBe('m2');
    });

    it('brings dead letters back with fresh attempts on retryDead', async () => {
      const broker = await connect();
      let healthy = false;
      const attempts: number[] = [];
      await broker.consume(B, async (m) => {
        attempts.push(m.attempt);
        if (!healthy) throw new Error('down');
      });
      await broker.publish('order.x', { n: 1 }, { messageId: 'd1' });
      await broker.publish('order.y', { n: 2 }, { messageId: 'd2' });
      await eventually(async () => (await statsOf(broker, B)).deadLetters === 2, 'two dead letters');
      expect(attempts).toEqual([1, 1, 2, 2]);
      healthy = true;
      expect(await broker.retryDead(B)).toBe(2);
      await eventually(() => attempts.length === 6, 'the dead letters handled again');
      expect(attempts.slice(4)).toEqual([1, 1]);
      expect(await statsOf(broker, B)).toMatchObject({ depth: 0, deadLetters: 0 });
      expect(await broker.retryDead(B)).toBe(0);
    });

    it('reports depth, consumers and dead letters for every queue of the topology', async () => {
      const broker = await connect();
      for (let i = 0; i < 3; i++) await broker.publish('order.z', { i });
      await eventually(async () => (await statsOf(broker, B)).depth === 3, 'three waiting messages');
      const stats = await broker.stats();
      expect(stats.map((s) => s.queue).sort()).toEqual([A, B, C].sort());
      expect(stats.find((s) => s.queue === B)).toEqual({ queue: B, depth: 3, consumers: 0, deadLetters: 0 });
      expect(stats.find((s) => s.queue === A)).toEqual({ queue: A, depth: 0, consumers: 0, deadLetters: 0 });
      const other = await connect();
      const { got } = await collect(other, B, 10);
      await eventually(() => got.length === 3, 'the three messages consumed');
      await eventually(async () => (await statsOf(broker, B)).consumers === 1, 'one consumer counted');
      expect((await statsOf(broker, B)).depth).toBe(0);
    });

    it('refuses a payload JSON cannot carry, bad headers and oversized payloads, and sends nothing', async () => {
      const broker = await connect();
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      await expect(broker.publish('order.x', circular)).rejects.toThrow(/not JSON-serialisable/);
      await expect(broker.publish('order.x', { big: 10n })).rejects.toThrow(/not JSON-serialisable/);
      await expect(broker.publish('order.x', undefined)).rejects.toThrow(/not JSON-serialisable/);
      await expect(broker.publish('order.x', () => 1)).rejects.toThrow(/not JSON-serialisable/);
      await expect(broker.publish('order.x', {}, { headers: { n: 1 as unknown as string } })).rejects.toThrow(
        /must be a string/,
      );
      await expect(broker.publish('order.x', {}, { headers: { 'x-parley-attempt': '9' } })).rejects.toThrow(/reserved/);
      await expect(broker.publish('order.x', { blob: 'x'.repeat(300 * 1024) })).rejects.toThrow(/limit/);
      await broker.publish('order.x', { fine: true });
      await eventually(async () => (await statsOf(broker, B)).depth === 1, 'the one valid message');
      await sleep(50);
      expect((await statsOf(broker, B)).depth).toBe(1);
    });

    it('refuses to consume or retry a queue outside its topology', async () => {
      const broker = await connect();
      await expect(broker.consume('no.such.queue', async () => {})).rejects.toThrow(/not in the broker topology/);
      await expect(broker.retryDead('no.such.queue')).rejects.toThrow(/not in the broker topology/);
    });

    it('answers ping, closes idempotently and refuses work after close', async () => {
      const broker = await connect();
      await broker.ping();
      await broker.close();
      await broker.close();
      const err: unknown = await broker.publish('order.x', {}).catch((e: unknown) => e);
      expect(isAppError(err) && err.code).toBe('SERVICE_UNAVAILABLE');
      await expect(broker.ping()).rejects.toThrow();
      await expect(broker.consume(A, async () => {})).rejects.toThrow();
    });
  });
}

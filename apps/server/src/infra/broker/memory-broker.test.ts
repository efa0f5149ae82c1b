import { describe, expect, it } from 'vitest';
import { brokerContract, eventually, testTopology } from './broker.contract.ts';
import { createBroker } from './index.ts';
import { MemoryBroker, MemoryBrokerHub } from './memory-broker.ts';
import { INTERVIEW_EVENTS_TOPOLOGY } from './topology.ts';

brokerContract('memory', () => {
  const hub = new MemoryBrokerHub();
  return { connect: async (topology) => new MemoryBroker({ topology, hub }) };
});

describe('MemoryBroker', () => {
  it('keeps brokers on different hubs apart', async () => {
    const topology = testTopology();
    const queue = topology.queues[1]!.name;
    const [a, b] = [new MemoryBroker({ topology }), new MemoryBroker({ topology })];
    const got: string[] = [];
    await b.consume(queue, async (m) => void got.push(m.messageId));
    await a.publish('order.x', {}, { messageId: 'on-a' });
    await b.publish('order.x', {}, { messageId: 'on-b' });
    await eventually(() => got.length === 1, 'the message on b');
    expect(got).toEqual(['on-b']);
    expect((await a.stats()).find((s) => s.queue === queue)?.depth).toBe(1);
    await Promise.all([a.close(), b.close()]);
  });

  it('gives each delivery its own copy of the payload', async () => {
    const topology = testTopology();
    const broker = new MemoryBroker({ topology });
    const payloads: unknown[] = [];
    await broker.consume(topology.queues[0]!.name, async (m) => {
      payloads.push(m.payload);
      (m.payload as { n: number }).n = 99;
      if (m.attempt === 1) throw new Error('again');
    });
    const original = { n: 1 };
    await broker.publish('order.eu.created', original);
    original.n = 2;
    await eventually(() => payloads.length === 2, 'the retry');
    expect(payloads).toEqual([{ n: 99 }, { n: 99 }]);
    expect(payloads[0]).not.toBe(payloads[1]);
    await broker.close();
  });

  it('refuses a topology it cannot honour', () => {
    expect(
      () =>
        new MemoryBroker({
          topology: { exchange: 'x', queues: [{ name: 'q', bindings: [], maxAttempts: 0, backoffMs: 1 }] },
        }),
    ).toThrow(/maxAttempts/);
  });
});

describe('createBroker', () => {
  it('builds the in-process broker with the design topology when no AMQP URL is configured', async () => {
    const broker = await createBroker({ broker: { kind: 'memory' } }, INTERVIEW_EVENTS_TOPOLOGY);
    expect(broker).toBeInstanceOf(MemoryBroker);
    expect((await broker.stats()).map((s) => s.queue)).toEqual(INTERVIEW_EVENTS_TOPOLOGY.queues.map((q) => q.name));
    await broker.close();
  });
});

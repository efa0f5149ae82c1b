import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import type { ChannelModel } from 'amqplib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmqpBroker, amqpQueueNames, deadLetterQueueName } from './amqp-broker.ts';
import type { AmqpBrokerOptions } from './amqp-broker.ts';
import type { BrokerMessage, Topology } from './broker.ts';
import { brokerContract, eventually, testTopology } from './broker.contract.ts';
import { createBroker } from './index.ts';
import { topicMatches } from './topic-match.ts';
import { isAppError } from '../../shared/app-error.ts';
import { REAL, realService } from '../../shared/testing/real-services.ts';

let admin: ChannelModel;

beforeAll(async () => {
  await realService('RabbitMQ', REAL.amqpUrl);
  admin = await amqp.connect(REAL.amqpUrl);
  admin.on('error', () => {});
});

afterAll(async () => {
  await admin?.close();
});

/** Deletes everything the adapter declared for a topology; each test uses its own names. */
async function removeTopology(topology: Topology): Promise<void> {
  const ch = await admin.createChannel();
  ch.on('error', () => {});
  for (const q of amqpQueueNames(topology)) await ch.deleteQueue(q);
  await ch.deleteExchange(topology.exchange);
  await ch.close();
}

const quiet: Pick<AmqpBrokerOptions, 'onError' | 'reconnectDelayMs'> = {
  onError: () => {},
  reconnectDelayMs: { initial: 50, max: 500 },
};

brokerContract('amqp', () => ({
  connect: (topology) => AmqpBroker.connect({ url: REAL.amqpUrl, topology, ...quiet }),
  cleanup: removeTopology,
}));

/**
 * A TCP relay between the broker and RabbitMQ, so a test can cut this client's connections (as a
 * RabbitMQ restart or a network failure would) without touching anyone else's.
 */
class FlakyLink {
  private readonly server = net.createServer((client) => this.accept(client));
  private readonly sockets = new Set<net.Socket>();
  private refusing = false;
  accepted = 0;

  constructor(private readonly upstream: URL) {}

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    const { port } = this.server.address() as net.AddressInfo;
    const url = new URL(this.upstream.toString());
    url.hostname = '127.0.0.1';
    url.port = String(port);
    return url.toString();
  }

  private accept(client: net.Socket): void {
    if (this.refusing) {
      client.destroy();
      return;
    }
    this.accepted++;
    const upstream = net.connect({ host: this.upstream.hostname, port: Number(this.upstream.port || 5672) });
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        this.sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Cuts every open connection; with `refuse`, new ones are dropped until `restore()`. */
  cut(refuse = false): void {
    this.refusing = refuse;
    for (const s of this.sockets) s.destroy();
  }

  restore(): void {
    this.refusing = false;
  }

  async stop(): Promise<void> {
    this.cut(true);
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

const execFileAsync = promisify(execFile);

/**
 * Closes, from the server side, the connections a client opened under this name, as a RabbitMQ
 * shutdown does (connection.close with CONNECTION_FORCED). Only this client's connections: the
 * server is shared with other test runs. Needs `rabbitmqctl` for the server at REAL.amqpUrl.
 */
async function forceCloseConnections(connectionName: string): Promise<number> {
  const { stdout } = await execFileAsync('rabbitmqctl', ['-q', 'list_connections', 'pid', 'client_properties']);
  const pids = stdout
    .split('\n')
    .filter((line) => line.includes(`{"connection_name","${connectionName}"}`))
    .map((line) => line.split('\t')[0]!);
  for (const pid of pids) {
    await execFileAsync('rabbitmqctl', ['-q', 'close_connection', pid, 'parley test: forced close']);
  }
  return pids.length;
}

describe('AmqpBroker', () => {
  it('reconnects and keeps consuming after RabbitMQ force-closes its connection', async () => {
    const topology = testTopology();
    const queue = topology.queues[0]!.name;
    const connectionName = `parley-test-${randomUUID().slice(0, 8)}`;
    const errors: unknown[] = [];
    const broker = await AmqpBroker.connect({
      url: REAL.amqpUrl,
      topology,
      connectionName,
      onError: (e) => errors.push(e),
      reconnectDelayMs: { initial: 50, max: 300 },
      unavailableTimeoutMs: 20_000,
    });
    try {
      const got: BrokerMessage[] = [];
      await broker.consume(queue, async (m) => void got.push(m));
      await broker.publish('order.eu.created', { n: 1 }, { messageId: 'before' });
      await eventually(() => got.length === 1, 'the message before the forced close');

      // One connection carries publishing and consuming; the server closes it.
      expect(await forceCloseConnections(connectionName)).toBe(1);
      await eventually(() => errors.some((e) => /connection lost/.test(String(e))), 'the broker to notice');
      await broker.publish('order.eu.created', { n: 2 }, { messageId: 'after' });
      await eventually(() => got.some((m) => m.messageId === 'after'), 'the message after reconnection');
      expect([...new Set(got.map((m) => m.messageId))]).toEqual(['before', 'after']);
      await eventually(
        async () => (await broker.stats()).find((s) => s.queue === queue)?.consumers === 1,
        'the consumer to be back',
      );
    } finally {
      await broker.close();
      await removeTopology(topology);
    }
  });

  it('reconnects after its connection is cut, restarts consumers and keeps publishing', async () => {
    const topology = testTopology();
    const queue = topology.queues[0]!.name;
    const link = new FlakyLink(new URL(REAL.amqpUrl));
    const url = await link.start();
    const errors: unknown[] = [];
    const broker = await AmqpBroker.connect({
      url,
      topology,
      onError: (e) => errors.push(e),
      reconnectDelayMs: { initial: 50, max: 300 },
      unavailableTimeoutMs: 20_000,
    });
    try {
      const got: BrokerMessage[] = [];
      await broker.consume(queue, async (m) => void got.push(m));
      await broker.publish('order.eu.created', { n: 1 }, { messageId: 'before' });
      await eventually(() => got.length === 1, 'the message before the cut');

      // A network failure: the sockets die without any AMQP goodbye.
      link.cut();
      await broker.publish('order.eu.created', { n: 2 }, { messageId: 'after-cut' });
      await eventually(() => got.some((m) => m.messageId === 'after-cut'), 'the message after reconnection');
      expect(link.accepted).toBeGreaterThanOrEqual(2);

      // An outage: RabbitMQ unreachable for a while. A publish made during it waits, then goes through.
      link.cut(true);
      await eventually(
        async () =>
          !(await broker.ping().then(
            () => true,
            () => false,
          )),
        'the broker to notice the outage',
      );
      const waiting = broker.publish('order.eu.created', { n: 3 }, { messageId: 'during-outage' });
      await new Promise((r) => setTimeout(r, 300));
      link.restore();
      await waiting;
      await eventually(
        () => got.some((m) => m.messageId === 'during-outage'),
        'the message published during the outage',
      );
      await broker.ping();

      // At-least-once: an ack lost in the cut may bring 'before' back, but nothing is lost or reordered.
      expect([...new Set(got.map((m) => m.messageId))]).toEqual(['before', 'after-cut', 'during-outage']);
      expect(errors.some((e) => /connection lost/.test(String(e)))).toBe(true);
      const stats = (await broker.stats()).find((s) => s.queue === queue)!;
      expect(stats).toMatchObject({ depth: 0, consumers: 1, deadLetters: 0 });
    } finally {
      await broker.close();
      await link.stop();
      await removeTopology(topology);
    }
  });

  it('fails a publish with SERVICE_UNAVAILABLE when the outage outlasts its wait', async () => {
    const topology = testTopology();
    const link = new FlakyLink(new URL(REAL.amqpUrl));
    const url = await link.start();
    const broker = await AmqpBroker.connect({ url, topology, ...quiet, unavailableTimeoutMs: 500 });
    try {
      link.cut(true);
      await eventually(
        async () =>
          !(await broker.ping().then(
            () => true,
            () => false,
          )),
        'the broker to notice the outage',
      );
      const err: unknown = await broker.publish('order.x', { n: 1 }).catch((e: unknown) => e);
      expect(isAppError(err) && err.code).toBe('SERVICE_UNAVAILABLE');
      const statsErr: unknown = await broker.stats().catch((e: unknown) => e);
      expect(isAppError(statsErr) && statsErr.code).toBe('SERVICE_UNAVAILABLE');
      link.restore();
      await eventually(
        async () =>
          broker.ping().then(
            () => true,
            () => false,
          ),
        'the reconnection',
      );
      await broker.publish('order.x', { n: 2 });
    } finally {
      await broker.close();
      await link.stop();
      await removeTopology(topology);
    }
  });

  it('refuses to start with SERVICE_UNAVAILABLE when RabbitMQ cannot be reached', async () => {
    const free = net.createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
    const { port } = free.address() as net.AddressInfo;
    await new Promise<void>((r) => free.close(() => r()));
    const err: unknown = await AmqpBroker.connect({
      url: `amqp://guest:guest@127.0.0.1:${port}`,
      topology: testTopology(),
      ...quiet,
      unavailableTimeoutMs: 500,
    }).catch((e: unknown) => e);
    expect(isAppError(err) && err.code).toBe('SERVICE_UNAVAILABLE');
  });

  it('stores persistent JSON messages in durable queues, dead letters with the error that killed them', async () => {
    const topology = testTopology();
    const [a, b] = [topology.queues[0]!.name, topology.queues[1]!.name];
    const broker = await AmqpBroker.connect({ url: REAL.amqpUrl, topology, ...quiet });
    const ch = await admin.createChannel();
    ch.on('error', () => {});
    try {
      await broker.publish('order.p', { n: 1 }, { messageId: 'p1', headers: { traceparent: 't' } });
      const msg = await ch.get(b, { noAck: true });
      expect(msg).not.toBe(false);
      if (!msg) return;
      expect(msg.properties).toMatchObject({ deliveryMode: 2, contentType: 'application/json', messageId: 'p1' });
      expect(msg.properties.headers).toMatchObject({ traceparent: 't' });
      expect(JSON.parse(msg.content.toString())).toEqual({ n: 1 });
      // Re-declaring as non-durable is refused by RabbitMQ only if the queue is durable.
      await expect(ch.assertQueue(a, { durable: false })).rejects.toThrow(/PRECONDITION_FAILED/);
    } finally {
      await broker.close();
    }
    const broker2 = await AmqpBroker.connect({ url: REAL.amqpUrl, topology, ...quiet });
    const ch2 = await admin.createChannel();
    try {
      await broker2.consume(a, async () => {
        throw new Error('the handler exploded');
      });
      await broker2.publish('order.eu.created', { n: 2 });
      await eventually(
        async () => (await broker2.stats()).find((s) => s.queue === a)!.deadLetters === 1,
        'a dead letter',
      );
      const dead = await ch2.get(deadLetterQueueName(a), { noAck: true });
      if (!dead) throw new Error('no dead letter');
      expect(dead.properties.headers).toMatchObject({
        'x-parley-attempt': 3,
        'x-parley-error': 'the handler exploded',
        'x-parley-routing-key': 'order.eu.created',
      });
    } finally {
      await ch2.close();
      await broker2.close();
      await removeTopology(topology);
    }
  });

  it('routes exactly as RabbitMQ does on generated patterns and keys', async () => {
    const word = fc.constantFrom('a', 'b', '');
    const pattern = fc
      .array(fc.oneof({ weight: 2, arbitrary: word }, fc.constant('*'), fc.constant('#')), { maxLength: 4 })
      .map((ws) => ws.join('.'));
    const key = fc.array(word, { maxLength: 5 }).map((ws) => ws.join('.'));
    const patterns = [
      ...new Set(['#', '*', '', 'a.#', '#.a', 'a.*.#', '#.#', '*.*', ...fc.sample(pattern, { numRuns: 40, seed: 7 })]),
    ];
    const keys = [...new Set(['', 'a', 'a.b', 'a..b', '.', 'a.', ...fc.sample(key, { numRuns: 60, seed: 11 })])];

    const exchange = `parley.test.${randomUUID().slice(0, 8)}.match`;
    const ch = await admin.createConfirmChannel();
    try {
      await ch.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
      const queues: string[] = [];
      for (const p of patterns) {
        const { queue } = await ch.assertQueue('', { exclusive: true });
        await ch.bindQueue(queue, exchange, p);
        queues.push(queue);
      }
      keys.forEach((k, i) => ch.publish(exchange, k, Buffer.from(String(i))));
      await ch.waitForConfirms();
      const mismatches: string[] = [];
      for (const [qi, queue] of queues.entries()) {
        const received = new Set<number>();
        for (let m = await ch.get(queue, { noAck: true }); m; m = await ch.get(queue, { noAck: true })) {
          received.add(Number(m.content.toString()));
        }
        keys.forEach((k, i) => {
          if (topicMatches(patterns[qi]!, k) !== received.has(i)) {
            mismatches.push(
              `pattern ${JSON.stringify(patterns[qi])} key ${JSON.stringify(k)}: RabbitMQ ${received.has(i)}`,
            );
          }
        });
      }
      expect(mismatches).toEqual([]);
    } finally {
      await ch.deleteExchange(exchange);
      await ch.close();
    }
  });
});

describe('createBroker', () => {
  it('builds a RabbitMQ broker for an AMQP URL and declares the topology', async () => {
    const topology = testTopology();
    const broker = await createBroker({ broker: { kind: 'amqp', url: REAL.amqpUrl } }, topology, { onError: () => {} });
    try {
      expect(broker).toBeInstanceOf(AmqpBroker);
      const ch = await admin.createChannel();
      for (const q of amqpQueueNames(topology)) await ch.checkQueue(q);
      await ch.close();
    } finally {
      await broker.close();
      await removeTopology(topology);
    }
  });
});

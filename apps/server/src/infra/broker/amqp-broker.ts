import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Message, RecoveringChannelModel } from 'amqplib';
import type {
  Broker,
  BrokerMessage,
  ConsumeOptions,
  Consumer,
  MessageHandler,
  PublishOptions,
  QueueSpec,
  QueueStats,
  Topology,
} from './broker.ts';
import {
  checkHeaders,
  checkTopology,
  DEFAULT_MAX_PAYLOAD_BYTES,
  encodePayload,
  RESERVED_HEADER_PREFIX,
  retryDelayMs,
} from './message-codec.ts';
import { AppError } from '../../shared/app-error.ts';

export interface AmqpBrokerOptions {
  url: string;
  topology: Topology;
  /** How long publish, consume and retryDead wait for a connection during an outage. Default 10 s. */
  unavailableTimeoutMs?: number;
  /** Reconnection backoff bounds. Defaults 200 ms and 10 s. */
  reconnectDelayMs?: { initial: number; max: number };
  /** Heartbeat, so a silently dead TCP connection is noticed. Default 10 s; 0 disables. */
  heartbeatSeconds?: number;
  /** Shown in the RabbitMQ connection list. */
  connectionName?: string;
  maxPayloadBytes?: number;
  /** Receives connection losses and failures the adapter recovers from by itself. */
  onError?: (err: unknown) => void;
}

// Bookkeeping headers. The routing key is kept because a message coming back from a retry queue
// arrives with the work queue's name as its routing key.
const H_ATTEMPT = `${RESERVED_HEADER_PREFIX}attempt`;
const H_ROUTING_KEY = `${RESERVED_HEADER_PREFIX}routing-key`;
const H_ERROR = `${RESERVED_HEADER_PREFIX}error`;
const H_DEAD_AT = `${RESERVED_HEADER_PREFIX}dead-at`;

/** Dead-letter queue of a work queue. */
export const deadLetterQueueName = (queue: string): string => `${queue}.dlq`;

/**
 * One retry queue per distinct backoff delay. Every message in such a queue has the same TTL, so
 * they expire in order; one shared retry queue with per-message expirations would make a short
 * delay wait behind a long one at the head of the queue.
 */
export const retryQueueName = (queue: string, delayMs: number): string => `${queue}.retry.${delayMs}ms`;

function retryDelays(spec: QueueSpec): number[] {
  const delays = new Set<number>();
  for (let attempt = 1; attempt < spec.maxAttempts; attempt++) delays.add(retryDelayMs(spec, attempt));
  return [...delays];
}

/** Every queue the adapter declares for a topology (work, retry and dead-letter queues). */
export function amqpQueueNames(topology: Topology): string[] {
  return topology.queues.flatMap((spec) => [
    spec.name,
    deadLetterQueueName(spec.name),
    ...retryDelays(spec).map((d) => retryQueueName(spec.name, d)),
  ]);
}

interface ConsumerState {
  spec: QueueSpec;
  handler: MessageHandler;
  prefetch: number;
  /** The connection this consumer was (or is being) started on. */
  model: ChannelModel | null;
  starting: Promise<void> | null;
  channel: Channel | null;
  tag: string | null;
  running: Set<Promise<void>>;
  closed: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * RabbitMQ broker (`AMQP_URL`): a durable topic exchange, durable queues, persistent messages,
 * publisher confirms, manual acks, retries through TTL'd retry queues, dead-letter queues, and
 * automatic reconnection that re-declares the topology and restarts consumers.
 */
export class AmqpBroker implements Broker {
  private conn: RecoveringChannelModel | null = null;
  private readonly specs: Map<string, QueueSpec>;
  private readonly consumers = new Set<ConsumerState>();
  private readonly unavailableTimeoutMs: number;
  private readonly maxPayloadBytes: number;
  private readonly onError: (err: unknown) => void;
  private model: ChannelModel | null = null;
  private readonly sharedChannels = new WeakMap<ChannelModel, Map<'publish' | 'admin', Promise<Channel>>>();
  private readyWaiters = new Set<{ resolve: (m: ChannelModel) => void; reject: (e: Error) => void }>();
  private lastError: unknown = null;
  private closed = false;

  /**
   * Connects and declares the topology, waiting for the first connection at most
   * `unavailableTimeoutMs` (then SERVICE_UNAVAILABLE). Later outages are recovered automatically.
   */
  static async connect(options: AmqpBrokerOptions): Promise<AmqpBroker> {
    const broker = new AmqpBroker(options);
    try {
      await broker.start();
      await broker.connected(Date.now() + broker.unavailableTimeoutMs);
    } catch (err) {
      await broker.close();
      throw err;
    }
    return broker;
  }

  private constructor(private readonly options: AmqpBrokerOptions) {
    checkTopology(options.topology);
    this.specs = new Map(options.topology.queues.map((q) => [q.name, q]));
    this.unavailableTimeoutMs = options.unavailableTimeoutMs ?? 10_000;
    this.maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    this.onError = options.onError ?? ((err) => console.error('[broker]', err));
  }

  private async start(): Promise<void> {
    const url = new URL(this.options.url);
    if (!url.searchParams.has('heartbeat')) {
      url.searchParams.set('heartbeat', String(this.options.heartbeatSeconds ?? 10));
    }
    const delays = this.options.reconnectDelayMs ?? { initial: 200, max: 10_000 };
    // With waitForConnect: false this resolves at once; attempts (and `setup`) run in the background.
    const conn = await amqp.connect(url.toString(), {
      clientProperties: { connection_name: this.options.connectionName ?? 'parley' },
      recovery: {
        initialDelay: delays.initial,
        maxDelay: delays.max,
        maxRetries: Infinity,
        waitForConnect: false,
        setup: (model: ChannelModel) => this.setup(model),
      },
    });
    this.conn = conn;
    let reported = false;
    conn.on('connect', () => (reported = false));
    conn.on('disconnect', (err: Error) => {
      this.lastError = err;
      if (!this.closed) this.onError(new Error(`RabbitMQ connection lost: ${err.message}`));
      reported = true;
    });
    conn.on('connect-failed', (err: Error) => {
      this.lastError = err;
      if (!reported && !this.closed) this.onError(new Error(`RabbitMQ connection failed: ${err.message}`));
      reported = true;
    });
    // Protocol errors also arrive as a close, handled by recovery; without a listener they would throw.
    conn.on('error', (err: Error) => (this.lastError = err));
    conn.on('handler-error', (err: Error) => this.onError(err));
    if (this.closed) await conn.close();
  }

  /** Runs after every (re)connection, before the connection is handed out: topology, then consumers. */
  private async setup(model: ChannelModel): Promise<void> {
    // Recovery listens for errors only once setup has finished; until then an error event would throw.
    model.on('error', (err: Error) => (this.lastError = err));
    const ch = await model.createChannel();
    ch.on('error', (err: Error) => (this.lastError = err));
    const { exchange, queues } = this.options.topology;
    await ch.assertExchange(exchange, 'topic', { durable: true });
    for (const spec of queues) {
      await ch.assertQueue(spec.name, { durable: true });
      for (const pattern of spec.bindings) await ch.bindQueue(spec.name, exchange, pattern);
      await ch.assertQueue(deadLetterQueueName(spec.name), { durable: true });
      for (const delay of retryDelays(spec)) {
        // Expired retries dead-letter through the default exchange straight back to the work queue.
        await ch.assertQueue(retryQueueName(spec.name, delay), {
          durable: true,
          messageTtl: delay,
          deadLetterExchange: '',
          deadLetterRoutingKey: spec.name,
        });
      }
    }
    await ch.close();
    for (const c of this.consumers) if (!c.closed) await this.startConsumer(c, model);

    this.model = model;
    model.on('close', () => {
      if (this.model === model) this.model = null;
    });
    for (const w of this.readyWaiters) w.resolve(model);
    this.readyWaiters.clear();
  }

  /** The live connection, waiting for a reconnection until the deadline. */
  private connected(deadline: number): Promise<ChannelModel> {
    if (this.closed) return Promise.reject(new AppError('SERVICE_UNAVAILABLE', 'The broker connection is closed'));
    if (this.model) return Promise.resolve(this.model);
    return new Promise<ChannelModel>((resolve, reject) => {
      const waiter = {
        resolve: (m: ChannelModel) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(
        () => {
          this.readyWaiters.delete(waiter);
          const why = this.lastError ? `: ${messageOf(this.lastError)}` : '';
          reject(new AppError('SERVICE_UNAVAILABLE', `RabbitMQ is unavailable${why}`));
        },
        Math.max(0, deadline - Date.now()),
      );
      this.readyWaiters.add(waiter);
    });
  }

  /**
   * A long-lived channel of one kind on one connection, opened on first use and again after it
   * closes. Kept per connection, so a late caller still holding an old connection can never
   * replace the live connection's channel with a dead one.
   */
  private sharedChannel<T extends Channel>(
    model: ChannelModel,
    kind: 'publish' | 'admin',
    open: () => Promise<T>,
  ): Promise<T> {
    let slots = this.sharedChannels.get(model);
    if (!slots) this.sharedChannels.set(model, (slots = new Map<'publish' | 'admin', Promise<Channel>>()));
    const existing = slots.get(kind);
    if (existing) return existing as Promise<T>;
    const opening = open().then((ch) => {
      ch.on('error', (err: Error) => (this.lastError = err));
      ch.on('close', () => {
        if (slots.get(kind) === opening) slots.delete(kind);
      });
      return ch;
    });
    opening.catch(() => {
      if (slots.get(kind) === opening) slots.delete(kind);
    });
    slots.set(kind, opening);
    return opening;
  }

  private publishChannel(model: ChannelModel): Promise<ConfirmChannel> {
    return this.sharedChannel(model, 'publish', () => model.createConfirmChannel());
  }

  private channelForAdmin(model: ChannelModel): Promise<Channel> {
    return this.sharedChannel(model, 'admin', () => model.createChannel());
  }

  /** One confirmed publish on the given connection; rejects if it is lost or the broker nacks. */
  private async confirmOn(
    model: ChannelModel,
    exchange: string,
    routingKey: string,
    content: Buffer,
    props: amqp.Options.Publish,
    deadline: number,
  ): Promise<void> {
    const ch = await this.publishChannel(model);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        new Promise<void>((resolve, reject) => {
          ch.publish(exchange, routingKey, content, props, (err: unknown) => (err ? reject(toError(err)) : resolve()));
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new AppError('SERVICE_UNAVAILABLE', 'RabbitMQ did not confirm the message in time')),
            Math.max(0, deadline - Date.now()),
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async publish(routingKey: string, payload: unknown, options: PublishOptions = {}): Promise<void> {
    const content = encodePayload(routingKey, payload, this.maxPayloadBytes);
    const headers = checkHeaders(options.headers);
    const props: amqp.Options.Publish = {
      messageId: options.messageId ?? randomUUID(),
      headers,
      persistent: true,
      contentType: 'application/json',
      timestamp: Math.floor(Date.now() / 1000),
    };
    const deadline = Date.now() + this.unavailableTimeoutMs;
    for (;;) {
      const model = await this.connected(deadline);
      try {
        await this.confirmOn(model, this.options.topology.exchange, routingKey, content, props, deadline);
        return;
      } catch (err) {
        if (this.closed) throw new AppError('SERVICE_UNAVAILABLE', 'The broker connection is closed');
        if (err instanceof AppError) throw err;
        if (messageOf(err) === 'message nacked') {
          throw new AppError('SERVICE_UNAVAILABLE', 'RabbitMQ refused the message (nack)');
        }
        // The connection or channel went away before the confirm. Publish again on the next one:
        // at-least-once, and the unchanged messageId lets consumers drop a duplicate.
        this.lastError = err;
        if (Date.now() >= deadline)
          throw new AppError('SERVICE_UNAVAILABLE', `RabbitMQ publish failed: ${messageOf(err)}`);
        await sleep(50);
      }
    }
  }

  private spec(queue: string): QueueSpec {
    const spec = this.specs.get(queue);
    if (!spec) throw new Error(`Queue "${queue}" is not in the broker topology`);
    return spec;
  }

  async consume(queue: string, handler: MessageHandler, options: ConsumeOptions = {}): Promise<Consumer> {
    const spec = this.spec(queue);
    const prefetch = options.prefetch ?? 1;
    if (!Number.isInteger(prefetch) || prefetch < 1) throw new RangeError('prefetch must be an integer ≥ 1');
    if (this.closed) throw new AppError('SERVICE_UNAVAILABLE', 'The broker connection is closed');
    const c: ConsumerState = {
      spec,
      handler,
      prefetch,
      model: null,
      starting: null,
      channel: null,
      tag: null,
      running: new Set(),
      closed: false,
    };
    // Registered first, so a reconnection that happens meanwhile starts it too.
    this.consumers.add(c);
    const deadline = Date.now() + this.unavailableTimeoutMs;
    try {
      for (;;) {
        const model = await this.connected(deadline);
        try {
          await this.startConsumer(c, model);
          break;
        } catch (err) {
          if (this.closed || Date.now() >= deadline) throw err;
          await sleep(50);
        }
      }
    } catch (err) {
      this.consumers.delete(c);
      c.closed = true;
      throw err instanceof AppError
        ? err
        : new AppError('SERVICE_UNAVAILABLE', `RabbitMQ consume failed: ${messageOf(err)}`);
    }
    return { close: () => this.closeConsumer(c) };
  }

  private startConsumer(c: ConsumerState, model: ChannelModel): Promise<void> {
    if (c.model === model && c.starting) return c.starting;
    c.model = model;
    const starting = (async () => {
      const ch = await model.createChannel();
      ch.on('error', (err: Error) => (this.lastError = err));
      ch.on('close', () => {
        if (c.channel !== ch) return;
        c.channel = null;
        c.tag = null;
        this.restartLater(c, model);
      });
      await ch.prefetch(c.prefetch);
      const { consumerTag } = await ch.consume(c.spec.name, (msg) => this.onDelivery(c, ch, model, msg), {
        noAck: false,
      });
      c.channel = ch;
      c.tag = consumerTag;
    })();
    c.starting = starting;
    starting.catch(() => {
      if (c.starting !== starting) return;
      c.model = null;
      c.starting = null;
    });
    return starting;
  }

  /**
   * A consumer channel closed while its connection lives on (a channel error, or the server
   * cancelled the consumer): start it again after a pause. Reconnections restart consumers anyway.
   */
  private restartLater(c: ConsumerState, model: ChannelModel): void {
    if (c.closed || this.closed || this.model !== model) return;
    c.model = null;
    c.starting = null;
    setTimeout(() => {
      if (c.closed || this.closed || this.model !== model || c.model) return;
      this.startConsumer(c, model).catch((err: unknown) => {
        this.onError(err);
        this.restartLater(c, model);
      });
    }, 1_000).unref();
  }

  private onDelivery(c: ConsumerState, ch: Channel, model: ChannelModel, msg: ConsumeMessage | null): void {
    if (!msg) {
      this.onError(new Error(`RabbitMQ cancelled the consumer of ${c.spec.name}`));
      if (c.channel === ch) {
        c.channel = null;
        c.tag = null;
        ch.close().catch(() => {});
        this.restartLater(c, model);
      }
      return;
    }
    const task = this.handle(c, ch, model, msg).catch((err: unknown) => this.onError(err));
    c.running.add(task);
    void task.finally(() => c.running.delete(task));
  }

  private async handle(c: ConsumerState, ch: Channel, model: ChannelModel, msg: ConsumeMessage): Promise<void> {
    const headers = (msg.properties.headers ?? {}) as Record<string, unknown>;
    const attempt = Number(headers[H_ATTEMPT] ?? 1) || 1;
    let message: BrokerMessage;
    try {
      message = {
        messageId: String(msg.properties.messageId ?? ''),
        routingKey: typeof headers[H_ROUTING_KEY] === 'string' ? headers[H_ROUTING_KEY] : msg.fields.routingKey,
        payload: JSON.parse(msg.content.toString('utf8')) as unknown,
        headers: userHeaders(headers),
        attempt,
      };
    } catch (err) {
      // No handler can read it, so retrying is pointless: straight to the dead-letter queue.
      await this.settleFailure(c, ch, model, msg, c.spec.maxAttempts, err);
      return;
    }
    try {
      await c.handler(message);
    } catch (err) {
      await this.settleFailure(c, ch, model, msg, attempt, err);
      return;
    }
    ack(ch, msg);
  }

  /**
   * Moves a failed message to its retry queue (or, out of attempts, to the dead-letter queue) and
   * acks it only once RabbitMQ has confirmed the copy. Confirmation is sought on the same connection
   * only: if it is gone, the server redelivers the original anyway.
   */
  private async settleFailure(
    c: ConsumerState,
    ch: Channel,
    model: ChannelModel,
    msg: ConsumeMessage,
    attempt: number,
    err: unknown,
  ): Promise<void> {
    const spec = c.spec;
    const dead = attempt >= spec.maxAttempts;
    const target = dead ? deadLetterQueueName(spec.name) : retryQueueName(spec.name, retryDelayMs(spec, attempt));
    const extra: Record<string, string | number> = dead
      ? { [H_ATTEMPT]: attempt, [H_ERROR]: messageOf(err).slice(0, 1_000), [H_DEAD_AT]: new Date().toISOString() }
      : { [H_ATTEMPT]: attempt + 1 };
    try {
      await this.confirmOn(
        model,
        '',
        target,
        msg.content,
        forwardProps(msg, extra),
        Date.now() + this.unavailableTimeoutMs,
      );
      ack(ch, msg);
    } catch (copyErr) {
      // After close() the server has taken the message back already: nothing was lost, nothing to report.
      if (!this.closed) {
        this.onError(new Error(`Could not move a failed message of ${spec.name} to ${target}: ${messageOf(copyErr)}`));
      }
      // Still on a live channel: give it back to the queue rather than lose it.
      try {
        ch.nack(msg, false, true);
      } catch {
        // Channel closed: the server has requeued it already.
      }
    }
  }

  private async closeConsumer(c: ConsumerState): Promise<void> {
    if (c.closed) return;
    c.closed = true;
    const { channel, tag } = c;
    if (channel && tag) {
      try {
        await channel.cancel(tag);
      } catch {
        // The channel is already gone: nothing more will be delivered on it.
      }
    }
    await Promise.allSettled([...c.running]);
    this.consumers.delete(c);
    c.channel = null;
    if (channel) await channel.close().catch(() => {});
  }

  async stats(): Promise<QueueStats[]> {
    const model = await this.connected(Date.now() + this.unavailableTimeoutMs);
    const ch = await this.channelForAdmin(model);
    const out: QueueStats[] = [];
    for (const spec of this.options.topology.queues) {
      const work = await ch.checkQueue(spec.name);
      const dlq = await ch.checkQueue(deadLetterQueueName(spec.name));
      out.push({
        queue: spec.name,
        depth: work.messageCount,
        consumers: work.consumerCount,
        deadLetters: dlq.messageCount,
      });
    }
    return out;
  }

  async retryDead(queue: string): Promise<number> {
    this.spec(queue);
    const deadline = Date.now() + this.unavailableTimeoutMs;
    const model = await this.connected(deadline);
    // A channel of its own: messages taken with get() and not yet acked go back if anything fails.
    const ch = await model.createChannel();
    ch.on('error', (err: Error) => (this.lastError = err));
    try {
      const dlq = deadLetterQueueName(queue);
      // Only what is dead now: a message dying again meanwhile is not looped over.
      const { messageCount } = await ch.checkQueue(dlq);
      let moved = 0;
      for (let i = 0; i < messageCount; i++) {
        const msg = await ch.get(dlq, { noAck: false });
        if (!msg) break;
        const props = forwardProps(msg, { [H_ATTEMPT]: 1 });
        await this.confirmOn(model, '', queue, msg.content, props, Date.now() + this.unavailableTimeoutMs);
        ch.ack(msg);
        moved++;
      }
      return moved;
    } finally {
      await ch.close().catch(() => {});
    }
  }

  async ping(): Promise<void> {
    const model = await this.connected(Date.now());
    const ch = await this.channelForAdmin(model);
    await ch.checkExchange(this.options.topology.exchange);
  }

  /** Closes the connection: consumers stop, and unacked messages go back to their queues. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.consumers) c.closed = true;
    for (const w of this.readyWaiters) w.reject(new AppError('SERVICE_UNAVAILABLE', 'The broker connection is closed'));
    this.readyWaiters.clear();
    this.model = null;
    await this.conn?.close();
  }
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function ack(ch: Channel, msg: Message): void {
  try {
    ch.ack(msg);
  } catch {
    // The channel closed under us: the server requeues the message and another consumer gets it.
  }
}

/** Caller headers only: bookkeeping and RabbitMQ's own (`x-death`…) headers stay inside the adapter. */
function userHeaders(headers: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string') continue;
    if (name.startsWith(RESERVED_HEADER_PREFIX) || /^x-(death|first-death-|last-death-)/.test(name)) continue;
    out[name] = value;
  }
  return out;
}

/** Properties for a copy of a message sent to another queue, with bookkeeping headers updated. */
function forwardProps(msg: Message, extra: Record<string, string | number>): amqp.Options.Publish {
  const original = (msg.properties.headers ?? {}) as Record<string, unknown>;
  const headers: Record<string, unknown> = userHeaders(original);
  headers[H_ROUTING_KEY] =
    typeof original[H_ROUTING_KEY] === 'string' ? original[H_ROUTING_KEY] : msg.fields.routingKey;
  Object.assign(headers, extra);
  return {
    messageId: msg.properties.messageId as string | undefined,
    contentType: 'application/json',
    timestamp: msg.properties.timestamp as number | undefined,
    persistent: true,
    headers,
  };
}

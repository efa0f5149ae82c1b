import { randomUUID } from 'node:crypto';
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
  retryDelayMs,
} from './message-codec.ts';
import { topicMatches } from './topic-match.ts';
import { AppError } from '../../shared/app-error.ts';

interface StoredMessage {
  /** Publish order, used to put returned messages back where they were. */
  seq: number;
  messageId: string;
  routingKey: string;
  /** The payload as JSON: every delivery parses a fresh copy, as a network would. */
  body: string;
  headers: Record<string, string>;
  attempt: number;
}

interface ConsumerState {
  owner: MemoryBroker;
  spec: QueueSpec;
  handler: MessageHandler;
  prefetch: number;
  /** Delivered and not yet settled; a message removed from here by a close has its outcome ignored. */
  inFlight: Map<symbol, StoredMessage>;
  running: Set<Promise<void>>;
  closing: boolean;
}

interface QueueState {
  name: string;
  ready: StoredMessage[];
  dead: StoredMessage[];
  consumers: ConsumerState[];
  /** Round-robin cursor over consumers. */
  next: number;
  dispatchScheduled: boolean;
}

/**
 * The "server" several `MemoryBroker` instances share, as processes share one RabbitMQ: exchanges,
 * bindings, queues, dead letters and pending retries live here, not in any one instance.
 */
export class MemoryBrokerHub {
  private readonly queues = new Map<string, QueueState>();
  private readonly bindings = new Map<string, Map<string, Set<string>>>();
  private seq = 0;

  declare(topology: Topology): void {
    let exchange = this.bindings.get(topology.exchange);
    if (!exchange) this.bindings.set(topology.exchange, (exchange = new Map<string, Set<string>>()));
    for (const spec of topology.queues) {
      this.queue(spec.name, true);
      let patterns = exchange.get(spec.name);
      if (!patterns) exchange.set(spec.name, (patterns = new Set()));
      for (const p of spec.bindings) patterns.add(p);
    }
  }

  queue(name: string, create = false): QueueState {
    let q = this.queues.get(name);
    if (!q && create) {
      q = { name, ready: [], dead: [], consumers: [], next: 0, dispatchScheduled: false };
      this.queues.set(name, q);
    }
    if (!q) throw new Error(`Queue "${name}" is not declared`);
    return q;
  }

  nextSeq(): number {
    return ++this.seq;
  }

  /** Queues whose bindings on the exchange match the key (each once, however many patterns match). */
  route(exchange: string, routingKey: string): QueueState[] {
    const out: QueueState[] = [];
    for (const [queue, patterns] of this.bindings.get(exchange) ?? []) {
      if ([...patterns].some((p) => topicMatches(p, routingKey))) out.push(this.queue(queue));
    }
    return out;
  }

  enqueue(q: QueueState, message: StoredMessage): void {
    q.ready.push(message);
    this.scheduleDispatch(q);
  }

  /** Puts unacked messages back at the head of the queue, in their original order. */
  requeue(q: QueueState, messages: StoredMessage[]): void {
    if (messages.length === 0) return;
    q.ready.unshift(...[...messages].sort((a, b) => a.seq - b.seq));
    this.scheduleDispatch(q);
  }

  /** Holds a failed message for its backoff, then puts it at the tail (as a retry queue dead-lettering back would). */
  retryLater(q: QueueState, message: StoredMessage, delayMs: number): void {
    // The hub plays the server, so the wait survives the instance that failed; unref'd so an
    // idle process can still exit.
    setTimeout(() => this.enqueue(q, message), delayMs).unref();
  }

  scheduleDispatch(q: QueueState): void {
    if (q.dispatchScheduled) return;
    q.dispatchScheduled = true;
    // Deliveries start on a later turn, never on the publisher's stack.
    setImmediate(() => {
      q.dispatchScheduled = false;
      this.dispatch(q);
    });
  }

  private dispatch(q: QueueState): void {
    while (q.ready.length > 0) {
      const consumer = this.pickConsumer(q);
      if (!consumer) return;
      const message = q.ready.shift()!;
      consumer.owner.deliver(consumer, q, message);
    }
  }

  private pickConsumer(q: QueueState): ConsumerState | undefined {
    const n = q.consumers.length;
    for (let i = 0; i < n; i++) {
      const c = q.consumers[(q.next + i) % n]!;
      if (!c.closing && c.inFlight.size < c.prefetch) {
        q.next = (q.next + i + 1) % n;
        return c;
      }
    }
    return undefined;
  }
}

export interface MemoryBrokerOptions {
  topology: Topology;
  /** Share queues with other instances ("processes") of the same hub. */
  hub?: MemoryBrokerHub;
  maxPayloadBytes?: number;
}

/**
 * In-process broker with RabbitMQ's semantics (embedded default): topic routing, per-queue FIFO,
 * competing consumers with prefetch, retries with backoff, dead letters.
 */
export class MemoryBroker implements Broker {
  private readonly hub: MemoryBrokerHub;
  private readonly specs: Map<string, QueueSpec>;
  private readonly consumers = new Set<ConsumerState>();
  private readonly maxPayloadBytes: number;
  private closed = false;

  constructor(private readonly options: MemoryBrokerOptions) {
    checkTopology(options.topology);
    this.hub = options.hub ?? new MemoryBrokerHub();
    this.hub.declare(options.topology);
    this.specs = new Map(options.topology.queues.map((q) => [q.name, q]));
    this.maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  }

  private open(): void {
    if (this.closed) throw new AppError('SERVICE_UNAVAILABLE', 'The broker connection is closed');
  }

  private spec(queue: string): QueueSpec {
    const spec = this.specs.get(queue);
    if (!spec) throw new Error(`Queue "${queue}" is not in the broker topology`);
    return spec;
  }

  async publish(routingKey: string, payload: unknown, options: PublishOptions = {}): Promise<void> {
    const body = encodePayload(routingKey, payload, this.maxPayloadBytes).toString('utf8');
    const headers = checkHeaders(options.headers);
    this.open();
    const messageId = options.messageId ?? randomUUID();
    for (const q of this.hub.route(this.options.topology.exchange, routingKey)) {
      this.hub.enqueue(q, {
        seq: this.hub.nextSeq(),
        messageId,
        routingKey,
        body,
        headers: { ...headers },
        attempt: 1,
      });
    }
  }

  async consume(queue: string, handler: MessageHandler, options: ConsumeOptions = {}): Promise<Consumer> {
    const spec = this.spec(queue);
    this.open();
    const prefetch = options.prefetch ?? 1;
    if (!Number.isInteger(prefetch) || prefetch < 1) throw new RangeError('prefetch must be an integer ≥ 1');
    const q = this.hub.queue(queue);
    const state: ConsumerState = {
      owner: this,
      spec,
      handler,
      prefetch,
      inFlight: new Map(),
      running: new Set(),
      closing: false,
    };
    this.consumers.add(state);
    q.consumers.push(state);
    this.hub.scheduleDispatch(q);
    return {
      close: async () => {
        if (state.closing) return;
        state.closing = true;
        await Promise.allSettled([...state.running]);
        this.detach(state, q);
      },
    };
  }

  /** Called by the hub: runs the handler and settles the message by its outcome. */
  deliver(consumer: ConsumerState, q: QueueState, message: StoredMessage): void {
    const token = Symbol(message.messageId);
    consumer.inFlight.set(token, message);
    const delivered: BrokerMessage = {
      messageId: message.messageId,
      routingKey: message.routingKey,
      payload: JSON.parse(message.body) as unknown,
      headers: { ...message.headers },
      attempt: message.attempt,
    };
    const run = Promise.resolve()
      .then(() => consumer.handler(delivered))
      .then(
        () => {
          consumer.inFlight.delete(token);
        },
        () => {
          // A message taken back by close() belongs to another consumer now: its outcome here is void.
          if (!consumer.inFlight.delete(token)) return;
          if (message.attempt < consumer.spec.maxAttempts) {
            const delay = retryDelayMs(consumer.spec, message.attempt);
            this.hub.retryLater(q, { ...message, seq: this.hub.nextSeq(), attempt: message.attempt + 1 }, delay);
          } else {
            q.dead.push(message);
          }
        },
      )
      .finally(() => {
        consumer.running.delete(run);
        this.hub.scheduleDispatch(q);
      });
    consumer.running.add(run);
  }

  private detach(state: ConsumerState, q: QueueState): void {
    this.consumers.delete(state);
    const i = q.consumers.indexOf(state);
    if (i >= 0) {
      q.consumers.splice(i, 1);
      if (q.next > i) q.next--;
      if (q.next >= q.consumers.length) q.next = 0;
    }
    this.hub.scheduleDispatch(q);
  }

  async stats(): Promise<QueueStats[]> {
    this.open();
    return this.options.topology.queues.map((spec) => {
      const q = this.hub.queue(spec.name);
      return { queue: spec.name, depth: q.ready.length, consumers: q.consumers.length, deadLetters: q.dead.length };
    });
  }

  async retryDead(queue: string): Promise<number> {
    this.spec(queue);
    this.open();
    const q = this.hub.queue(queue);
    const dead = q.dead.splice(0);
    // A dead letter brought back gets a fresh set of attempts.
    for (const m of dead) this.hub.enqueue(q, { ...m, seq: this.hub.nextSeq(), attempt: 1 });
    return dead.length;
  }

  async ping(): Promise<void> {
    this.open();
  }

  /** Like a dropped connection: consumers stop and their unacked messages return to the queues. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const state of [...this.consumers]) {
      state.closing = true;
      const q = this.hub.queue(state.spec.name);
      const unacked = [...state.inFlight.values()];
      state.inFlight.clear();
      this.detach(state, q);
      this.hub.requeue(q, unacked);
    }
  }
}

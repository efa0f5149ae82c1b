/**
 * Message broker with at-least-once delivery over a topic exchange.
 * Implementations: in-process bus (embedded default) and RabbitMQ. Both pass `broker.contract.ts`.
 *
 * Contract: a published message is routed (AMQP topic rules, `*` one word, `#` zero or more) to
 * every bound queue; each message is delivered to one consumer of a queue; a handler that
 * resolves acks it (never redelivered); a handler that throws is retried with backoff up to
 * `maxAttempts`, then moved to the queue's dead-letter queue; a consumer that dies before acking
 * leaves the message for another consumer.
 */
export interface Broker {
  /**
   * Resolves once the broker has accepted the message (publisher confirm). A payload JSON cannot
   * carry is refused with a TypeError, one over the size limit (256 KiB) with a RangeError; when the
   * broker stays unreachable past a bounded wait, fails with `AppError('SERVICE_UNAVAILABLE')`.
   */
  publish(routingKey: string, payload: unknown, options?: PublishOptions): Promise<void>;
  /** Starts consuming a declared queue. */
  consume(queue: string, handler: MessageHandler, options?: ConsumeOptions): Promise<Consumer>;
  /** Depth, consumer count and dead-letter depth of every declared queue. */
  stats(): Promise<QueueStats[]>;
  /** Moves every dead-lettered message of a queue back to it; returns how many were moved. */
  retryDead(queue: string): Promise<number>;
  ping(): Promise<void>;
  /**
   * Closes the connection as a process exit would: consumers stop and their unacked messages go
   * back to their queues for other consumers (late handler outcomes are dropped). To drain
   * gracefully, close the consumers first.
   */
  close(): Promise<void>;
}

export interface QueueSpec {
  name: string;
  /** Routing-key patterns bound to this queue on the topic exchange. */
  bindings: string[];
  /** Total deliveries before the message is dead-lettered (≥ 1). */
  maxAttempts: number;
  /** Delay before retry n (1-based) is `min(backoffMs * 2^(n-1), maxBackoffMs)`. */
  backoffMs: number;
  maxBackoffMs?: number;
}

export interface Topology {
  exchange: string;
  queues: QueueSpec[];
}

export interface PublishOptions {
  /** Stable id for idempotent consumers; generated when absent. */
  messageId?: string;
  headers?: Record<string, string>;
}

export interface BrokerMessage {
  messageId: string;
  routingKey: string;
  payload: unknown;
  headers: Record<string, string>;
  /** 1 on first delivery. */
  attempt: number;
}

export type MessageHandler = (message: BrokerMessage) => Promise<void>;

export interface ConsumeOptions {
  /** Unacked messages in flight per consumer. */
  prefetch?: number;
}

export interface Consumer {
  /** Stops taking new messages; in-flight handlers finish first. */
  close(): Promise<void>;
}

export interface QueueStats {
  queue: string;
  depth: number;
  consumers: number;
  deadLetters: number;
}

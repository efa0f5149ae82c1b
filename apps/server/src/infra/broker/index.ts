import { AmqpBroker } from './amqp-broker.ts';
import type { Broker, Topology } from './broker.ts';
import { MemoryBroker } from './memory-broker.ts';
import type { Config } from '../../config.ts';

export type * from './broker.ts';
export { AmqpBroker } from './amqp-broker.ts';
export { MemoryBroker, MemoryBrokerHub } from './memory-broker.ts';
export { INTERVIEW_EVENTS_TOPOLOGY } from './topology.ts';

export interface CreateBrokerOptions {
  /** Receives connection losses and failures the adapter recovers from by itself. */
  onError?: (err: unknown) => void;
}

/**
 * The broker chosen by `config.broker.kind`, with the topology declared. RabbitMQ must answer
 * within 10 s, else boot stops with SERVICE_UNAVAILABLE; later outages are recovered automatically.
 */
export async function createBroker(
  config: Pick<Config, 'broker'>,
  topology: Topology,
  options: CreateBrokerOptions = {},
): Promise<Broker> {
  if (config.broker.kind === 'memory') return new MemoryBroker({ topology });
  return AmqpBroker.connect({ url: config.broker.url, topology, onError: options.onError });
}

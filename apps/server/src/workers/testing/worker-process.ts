/**
 * A worker process for the no-loss test: the workers on RabbitMQ, PostgreSQL and local storage,
 * configured from the environment, logging JSON lines to stdout. SIGTERM stops it gracefully.
 */
import path from 'node:path';
import { AmqpBroker } from '../../infra/broker/amqp-broker.ts';
import { PostgresDatabase } from '../../infra/db/postgres-database.ts';
import { createLogger } from '../../infra/log.ts';
import { OutboxMailer } from '../../infra/mail/outbox-mail.ts';
import { createLocalStorage } from '../../infra/storage/local-storage.ts';
import { startWorkers, WORKER_TOPOLOGY } from '../index.ts';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};

const logger = createLogger({ level: 'info', name: 'worker-process' });
const broker = await AmqpBroker.connect({
  url: env('AMQP_URL'),
  topology: WORKER_TOPOLOGY,
  connectionName: 'worker-process',
});
const database = new PostgresDatabase({ url: env('DATABASE_URL'), poolMax: 4 });
const storage = await createLocalStorage({
  root: env('STORAGE_ROOT'),
  masterKey: Buffer.from(env('STORAGE_MASTER_KEY'), 'hex'),
});
const mail = new OutboxMailer({
  dir: path.join(env('STORAGE_ROOT'), '..', 'outbox'),
  from: 'Parley <no-reply@parley.test>',
});
const workers = await startWorkers(
  {
    config: { server: { publicUrl: 'https://parley.test' } as never },
    database,
    storage,
    broker,
    mail,
    logger,
    reports: null,
  },
  { maintenanceIntervalMs: null },
);
logger.info('worker process ready');

process.once('SIGTERM', () => {
  void (async () => {
    await workers.stop();
    await broker.close();
    await storage.close();
    await database.close();
    process.exit(0);
  })();
});

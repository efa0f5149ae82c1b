// The consumer's cases on the real servers: RabbitMQ (retry and dead-letter queues), PostgreSQL
// (a scratch database, migrated from zero) and Redis; frames in local encrypted storage.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import amqp from 'amqplib';
import { afterAll, beforeAll } from 'vitest';
import { AmqpBroker, amqpQueueNames } from '../infra/broker/amqp-broker.ts';
import { RedisCache } from '../infra/cache/redis-cache.ts';
import { PostgresDatabase } from '../infra/db/postgres-database.ts';
import { createScratchDatabase } from '../infra/db/postgres-test-databases.ts';
import { createLocalStorage, type LocalStorage } from '../infra/storage/local-storage.ts';
import { REAL, realService } from '../shared/testing/real-services.ts';
import { consumerTestTopology, emotionConsumerCases } from './emotion.consumer.cases.ts';
import type { EmotionService } from './emotion.service.ts';
import { createEmotionService } from './index.ts';

let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
let database: PostgresDatabase;
let service: EmotionService;
let storageRoot: string;
let storage: LocalStorage;

beforeAll(async () => {
  await realService('PostgreSQL', REAL.databaseUrl);
  await realService('RabbitMQ', REAL.amqpUrl);
  await realService('Redis', REAL.redisUrl);
  scratch = await createScratchDatabase(REAL.databaseUrl, 'emotion');
  database = new PostgresDatabase({ url: scratch.url, poolMax: 4 });
  await database.migrate();
  service = await createEmotionService();
  storageRoot = await mkdtemp(path.join(tmpdir(), 'parley-emotion-'));
  storage = await createLocalStorage({ root: storageRoot, masterKey: randomBytes(32) });
});

afterAll(async () => {
  await service?.close();
  await storage?.close();
  await database?.close();
  await scratch?.drop();
  if (storageRoot) await rm(storageRoot, { recursive: true, force: true });
});

emotionConsumerCases('RabbitMQ, PostgreSQL, Redis, local storage', () => ({
  database,
  storage,
  service,
  async newBroker() {
    const { topology, queue, analyzedQueue } = consumerTestTopology();
    const broker = await AmqpBroker.connect({ url: REAL.amqpUrl, topology, onError: () => {} });
    return {
      broker,
      queue,
      analyzedQueue,
      async dispose() {
        await broker.close();
        // Queue names are global on the server: remove what this test declared.
        const admin = await amqp.connect(REAL.amqpUrl);
        const ch = await admin.createChannel();
        for (const q of amqpQueueNames(topology)) await ch.deleteQueue(q);
        await ch.deleteExchange(topology.exchange);
        await admin.close();
      },
    };
  },
  async newCache() {
    return new RedisCache({ url: REAL.redisUrl, keyPrefix: `parley-test-${randomUUID().slice(0, 8)}:` });
  },
}));

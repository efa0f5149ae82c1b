import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { MemoryBroker } from '../infra/broker/memory-broker.ts';
import { MemoryCache } from '../infra/cache/memory-cache.ts';
import type { PgliteDatabase } from '../infra/db/pglite-database.ts';
import { createTestDatabase } from '../infra/db/testing.ts';
import { createLocalStorage, type LocalStorage } from '../infra/storage/local-storage.ts';
import { consumerTestTopology, emotionConsumerCases } from './emotion.consumer.cases.ts';
import type { EmotionService } from './emotion.service.ts';
import { createEmotionService } from './index.ts';

let database: PgliteDatabase;
let service: EmotionService;
let storageRoot: string;
let storage: LocalStorage;

beforeAll(async () => {
  [database, service] = await Promise.all([createTestDatabase(), createEmotionService()]);
  storageRoot = await mkdtemp(path.join(tmpdir(), 'parley-emotion-'));
  storage = await createLocalStorage({ root: storageRoot, masterKey: randomBytes(32) });
});

afterAll(async () => {
  await service?.close();
  await storage?.close();
  await database?.close();
  if (storageRoot) await rm(storageRoot, { recursive: true, force: true });
});

emotionConsumerCases('in-memory broker, PGlite, in-memory cache, local storage', () => ({
  database,
  storage,
  service,
  async newBroker() {
    const { topology, queue, analyzedQueue } = consumerTestTopology();
    const broker = new MemoryBroker({ topology });
    return { broker, queue, analyzedQueue, dispose: () => broker.close() };
  },
  async newCache() {
    return new MemoryCache();
  },
}));

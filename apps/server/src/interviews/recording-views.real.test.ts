import { randomUUID } from 'node:crypto';
import { beforeAll } from 'vitest';
import { RedisCache } from '../infra/cache/redis-cache.ts';
import { REAL, realService } from '../shared/testing/real-services.ts';
import { recordingViewsSuite } from './recording-views.suite.ts';

const prefix = `parley-test:${randomUUID().slice(0, 8)}:`;
beforeAll(() => realService('Redis', REAL.redisUrl));
recordingViewsSuite('Redis', () => new RedisCache({ url: REAL.redisUrl, keyPrefix: prefix }));

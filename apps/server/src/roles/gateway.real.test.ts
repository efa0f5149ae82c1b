import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REAL, realService } from '../shared/testing/real-services.ts';
import { startTestServer, type TestServer } from '../shared/testing/test-server.ts';

describe('two gateway processes on one Redis', () => {
  const gateways: TestServer[] = [];
  beforeAll(async () => {
    await realService('Redis', REAL.redisUrl);
    const env = {
      ROLES: 'gateway',
      REDIS_URL: REAL.redisUrl,
      REDIS_KEY_PREFIX: `parley-test-${randomUUID()}:`,
      RATE_LIMIT_IP_PER_MIN: '6',
    };
    for (let i = 0; i < 2; i++) gateways.push(await startTestServer(env));
  });
  afterAll(async () => {
    for (const g of gateways) await g.close();
  });

  it('share the per-IP counters: the limit holds across both', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const gateway = gateways[i % 2]!;
      statuses.push((await gateway.api.call('GET', '/api/anything', { token: `forged-${i}` })).status);
    }
    expect(statuses.slice(0, 6).every((s) => s !== 429)).toBe(true);
    expect(statuses.slice(6)).toEqual([429, 429, 429, 429]);
  });
});

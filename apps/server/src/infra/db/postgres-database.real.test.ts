import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REAL, realService } from '../../shared/testing/real-services.ts';
import { databaseContract } from './database.contract.ts';
import { createDatabase } from './index.ts';
import { PostgresDatabase } from './postgres-database.ts';
import { createScratchDatabase } from './postgres-test-databases.ts';

beforeAll(async () => {
  await realService('PostgreSQL', REAL.databaseUrl);
});

databaseContract('postgres', () => ({
  multiProcess: true,
  empty: async (count) => {
    const scratch = await createScratchDatabase(REAL.databaseUrl);
    const handles = Array.from({ length: count }, () => new PostgresDatabase({ url: scratch.url, poolMax: 4 }));
    return {
      handles,
      dispose: async () => {
        await Promise.all(handles.map((h) => h.close()));
        await scratch.drop();
      },
    };
  },
}));

describe('PostgreSQL database', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;

  beforeAll(async () => {
    scratch = await createScratchDatabase(REAL.databaseUrl);
  });

  afterAll(async () => {
    await scratch?.drop();
  });

  it('is what createDatabase builds from a postgres config, and reports its pool', async () => {
    const database = await createDatabase({ database: { kind: 'postgres', url: scratch.url, poolMax: 3 } });
    try {
      expect(database.kind).toBe('postgres');
      await database.ping();
      const [primary, ...rest] = database.poolStats();
      expect(rest).toEqual([]);
      expect(primary).toMatchObject({ pool: 'primary', max: 3, waiting: 0 });
      expect(primary!.total).toBeGreaterThanOrEqual(1);
      expect(primary!.idle).toBeLessThanOrEqual(primary!.total);
    } finally {
      await database.close();
    }
  });

  it('refuses to start when the server cannot be reached', async () => {
    const url = new URL(scratch.url);
    url.port = '1';
    await expect(createDatabase({ database: { kind: 'postgres', url: url.toString(), poolMax: 1 } })).rejects.toThrow();
  });
});

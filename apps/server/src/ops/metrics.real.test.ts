import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../infra/http/metrics.ts';
import { PostgresDatabase } from '../infra/db/postgres-database.ts';
import { REAL, realService } from '../shared/testing/real-services.ts';
import { parseExposition, sampleValue } from './exposition.ts';

describe('database pool series on PostgreSQL', () => {
  let database: PostgresDatabase;
  beforeAll(async () => {
    await realService('PostgreSQL', REAL.databaseUrl);
    database = new PostgresDatabase({ url: REAL.databaseUrl, poolMax: 4 });
  });
  afterAll(() => database?.close());

  it('shows connections in use while a query holds one, and the pool size', async () => {
    const metrics = new Metrics();
    metrics.observeDatabase(database);
    await database.ping();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    // Hold one connection inside a transaction while scraping.
    const busy = database.primary.transaction(async () => {
      await held;
    });
    for (let i = 0; i < 100 && database.poolStats()[0]?.total === database.poolStats()[0]?.idle; i++)
      await new Promise((r) => setTimeout(r, 10));
    const m = parseExposition(await metrics.registry.metrics());
    release();
    await busy;
    expect(sampleValue(m, 'parley_db_pool_connections', { pool: 'primary', state: 'in_use' })).toBe(1);
    expect(sampleValue(m, 'parley_db_pool_max', { pool: 'primary' })).toBe(4);
    expect(sampleValue(m, 'parley_db_pool_waiting', { pool: 'primary' })).toBe(0);
    expect(sampleValue(m, 'parley_metrics_source_up', { source: 'database' })).toBe(1);
  });
});

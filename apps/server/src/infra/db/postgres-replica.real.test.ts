import { eq, sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REAL, realService } from '../../shared/testing/real-services.ts';
import { PostgresDatabase } from './postgres-database.ts';
import { createScratchDatabase, databaseUrl } from './postgres-test-databases.ts';
import { organizations } from './schema.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `probe` returns a value; replication lag is usually tens of milliseconds. */
async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await sleep(25);
  }
}

const portOf = (url: string) => new URL(url).port || '5432';

describe('PostgreSQL with a read replica', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let database: PostgresDatabase;
  const primaryPort = portOf(REAL.databaseUrl);
  const replicaPort = portOf(REAL.databaseReplicaUrl);

  beforeAll(async () => {
    await realService('PostgreSQL primary', REAL.databaseUrl);
    await realService('PostgreSQL replica', REAL.databaseReplicaUrl);
    scratch = await createScratchDatabase(REAL.databaseUrl, 'replica');
    const replicaUrl = databaseUrl(REAL.databaseReplicaUrl, scratch.name);
    // The replica replays the whole cluster, so the new database appears there shortly.
    await eventually(async () => {
      const client = new pg.Client({ connectionString: replicaUrl });
      await client.connect();
      await client.end();
      return true;
    }, 'the new database to reach the replica');
    database = new PostgresDatabase({ url: scratch.url, replicaUrl, poolMax: 2 });
    await database.migrate();
    await eventually(
      async () => (await database.db.select().from(organizations).limit(1), true),
      'the migrated tables on the replica',
    );
  });

  afterAll(async () => {
    await database?.close();
    await scratch?.drop();
  });

  const where = { port: sql<string>`current_setting('port')`, standby: sql<boolean>`pg_is_in_recovery()` };

  it('sends selects through db to the replica and through primary to the primary', async () => {
    const [org] = await database.db.insert(organizations).values({ name: 'Routed Inc' }).returning();

    // Read-your-writes: the primary has the row at once.
    const onPrimary = await database.primary.select(where).from(organizations).where(eq(organizations.id, org!.id));
    expect(onPrimary).toEqual([{ port: primaryPort, standby: false }]);

    const onReplica = await eventually(async () => {
      const rows = await database.db.select(where).from(organizations).where(eq(organizations.id, org!.id));
      return rows.length ? rows : undefined;
    }, 'the insert to replicate');
    expect(onReplica).toEqual([{ port: replicaPort, standby: true }]);
  });

  it('runs transactions and raw statements on the primary, and updates reach the replica', async () => {
    const [org] = await database.db.insert(organizations).values({ name: 'Before' }).returning();
    const inTx = await database.db.transaction(async (tx) => {
      await tx.update(organizations).set({ name: 'After' }).where(eq(organizations.id, org!.id));
      return tx.select(where).from(organizations).where(eq(organizations.id, org!.id));
    });
    expect(inTx).toEqual([{ port: primaryPort, standby: false }]);

    const executed = await database.db.execute<{ port: string }>(sql`select current_setting('port') as port`);
    expect(executed.rows).toEqual([{ port: primaryPort }]);

    const name = await eventually(async () => {
      const [row] = await database.db
        .select({ name: organizations.name })
        .from(organizations)
        .where(eq(organizations.id, org!.id));
      return row?.name === 'After' ? row.name : undefined;
    }, 'the update to replicate');
    expect(name).toBe('After');
  });

  it('reports a pool for the primary and one for the replica, and pings both', async () => {
    await database.ping();
    expect(database.poolStats().map((s) => s.pool)).toEqual(['primary', 'replica']);
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { databaseContract } from './database.contract.ts';
import { createDatabase } from './index.ts';
import { PgliteDatabase } from './pglite-database.ts';
import { organizations } from './schema.ts';
import { createTestDatabase } from './testing.ts';

databaseContract('pglite', () => ({
  multiProcess: false,
  empty: async () => {
    const database = await PgliteDatabase.open();
    return { handles: [database], dispose: () => database.close() };
  },
  migrated: async () => {
    const database = await createTestDatabase();
    return { database, dispose: () => database.close() };
  },
}));

describe('PGlite database', () => {
  it('keeps its rows in the data directory across a restart', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'parley-pglite-test-'));
    try {
      const first = await createDatabase({ database: { kind: 'pglite', dataDir: path.join(dir, 'pg') } });
      expect(first.kind).toBe('pglite');
      await first.migrate();
      const [org] = await first.db.insert(organizations).values({ name: 'Persisted Ltd' }).returning();
      await first.close();

      const second = await createDatabase({ database: { kind: 'pglite', dataDir: path.join(dir, 'pg') } });
      try {
        await second.migrate();
        const rows = await second.db.select().from(organizations).where(eq(organizations.id, org!.id));
        expect(rows.map((r) => r.name)).toEqual(['Persisted Ltd']);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('gives every test database its own data: a clone does not see rows written to another', async () => {
    const a = await createTestDatabase();
    const b = await createTestDatabase();
    try {
      await a.db.insert(organizations).values({ name: 'Only in A' });
      expect(await a.db.select().from(organizations).where(eq(organizations.name, 'Only in A'))).toHaveLength(1);
      expect(await b.db.select().from(organizations)).toEqual([]);
      // Clones are already migrated; migrating again finds nothing to do.
      await b.migrate();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('reports no pool, since PGlite is one in-process connection', async () => {
    const database = await createTestDatabase();
    try {
      expect(database.poolStats()).toEqual([]);
    } finally {
      await database.close();
    }
  });
});

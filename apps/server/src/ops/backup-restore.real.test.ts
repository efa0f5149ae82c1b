/**
 * Backs up a populated deployment (PostgreSQL + encrypted object storage) with the scripts in
 * scripts/backup, destroys both, restores, and checks that every row and object came back and
 * that the restored deployment works. Prints the measured figures for
 * docs/operations/backup-restore.md:
 *   npx vitest run --project real apps/server/src/ops/backup-restore.real.test.ts
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createScratchDatabase } from '../infra/db/postgres-test-databases.ts';
import { REAL, realService } from '../shared/testing/real-services.ts';
import { startTestServer } from '../shared/testing/test-server.ts';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const SCRIPTS = path.join(ROOT, 'scripts/backup');
const AUDIT_ROWS = Number(process.env.BACKUP_TEST_AUDIT_ROWS ?? 100_000);
const OBJECTS = Number(process.env.BACKUP_TEST_OBJECTS ?? 200);
const OBJECT_BYTES = 64 * 1024;

async function rowCounts(url: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query<{ t: string }>(
      "select tablename as t from pg_tables where schemaname = 'public' order by 1",
    );
    const out: Record<string, number> = {};
    for (const { t } of tables.rows)
      out[t] = Number((await client.query<{ n: string }>(`select count(*) as n from "${t}"`)).rows[0]?.n);
    return out;
  } finally {
    await client.end();
  }
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const seconds = (ms: number) => Math.round(ms / 100) / 10;

describe('backup and restore', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  it('restores every row and object after both are destroyed', async () => {
    await realService('PostgreSQL', REAL.databaseUrl);
    const scratch = await createScratchDatabase(REAL.databaseUrl, 'backup');
    cleanup.push(() => scratch.drop());
    const backupDir = await mkdtemp(path.join(os.tmpdir(), 'parley-backup-'));
    cleanup.push(() => rm(backupDir, { recursive: true, force: true }));
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'parley-live-'));
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
    const env = { DATABASE_URL: scratch.url, DATA_DIR: dataDir };

    // A deployment with data made by the product itself, plus bulk history.
    const server = await startTestServer(env, { dataDir });
    const email = 'owner@backup.example.com';
    const password = 'Backup-restore-pass-1';
    const signUp = await server.api.call('POST', '/api/auth/sign-up', {
      body: { orgName: 'Acme', name: 'Owner', email, password },
    });
    expect(signUp.status, JSON.stringify(signUp.body)).toBe(201);
    await server.container.database.primary.execute(
      sql`insert into audit_log (org_id, action, metadata)
          select (select id from organizations limit 1), 'bulk.event', jsonb_build_object('n', g)
          from generate_series(1, ${AUDIT_ROWS}::int) g`,
    );
    const digests = new Map<string, string>();
    for (let i = 0; i < OBJECTS; i++) {
      const bytes = new Uint8Array(OBJECT_BYTES).map((_, j) => (i * 31 + j) % 251);
      const key = `orgs/acme/sessions/s${Math.floor(i / 20)}/frames/${String(i).padStart(5, '0')}.jpg`;
      await server.container.storage.put(key, bytes, 'image/jpeg');
      digests.set(key, sha(bytes));
    }
    const rowsBefore = await rowCounts(scratch.url);
    expect(rowsBefore.audit_log).toBeGreaterThanOrEqual(AUDIT_ROWS);

    // Back up while the server runs, as the nightly job would.
    const scriptEnv = { ...process.env, ...env, BACKUP_DIR: backupDir, STAMP: 'test' };
    let t = performance.now();
    const dump = (await run(path.join(SCRIPTS, 'pg-dump.sh'), [], { env: scriptEnv })).stdout.trim();
    const dumpMs = performance.now() - t;
    t = performance.now();
    const objectsDir = (await run(path.join(SCRIPTS, 'objects.sh'), ['backup'], { env: scriptEnv })).stdout.trim();
    const objectsBackupMs = performance.now() - t;
    await server.close();

    // The disaster: the database and the whole data directory are gone. The storage master key
    // comes back from where the operator keeps it, apart from the backups.
    const masterKey = await readFile(path.join(dataDir, 'keys/storage-master.key'));
    await scratch.drop();
    await rm(dataDir, { recursive: true, force: true });
    await expect(rowCounts(scratch.url)).rejects.toThrow();

    const restoreStarted = performance.now();
    await mkdir(path.join(dataDir, 'keys'), { recursive: true, mode: 0o700 });
    await writeFile(path.join(dataDir, 'keys/storage-master.key'), masterKey, { mode: 0o600 });
    t = performance.now();
    await run(path.join(SCRIPTS, 'pg-restore.sh'), [dump], { env: { ...scriptEnv, TARGET_URL: scratch.url } });
    const pgRestoreMs = performance.now() - t;
    t = performance.now();
    await run(path.join(SCRIPTS, 'objects.sh'), ['restore', objectsDir], { env: scriptEnv });
    const objectsRestoreMs = performance.now() - t;
    const restoreMs = performance.now() - restoreStarted;

    expect(await rowCounts(scratch.url)).toEqual(rowsBefore);
    const restored = await startTestServer(env, { dataDir });
    cleanup.push(() => restored.close());
    const keys = await restored.container.storage.list('');
    expect(keys.length).toBe(OBJECTS);
    for (const key of keys) expect(sha((await restored.container.storage.get(key)).bytes)).toBe(digests.get(key));
    const signIn = await restored.api.call('POST', '/api/auth/sign-in', { body: { email, password } });
    expect(signIn.status).toBe(200);

    const figures = {
      rows: Object.values(rowsBefore).reduce((a, b) => a + b, 0),
      auditRows: rowsBefore.audit_log,
      objects: OBJECTS,
      objectBytes: OBJECTS * OBJECT_BYTES,
      dumpBytes: (await stat(dump)).size,
      dumpSeconds: seconds(dumpMs),
      objectsBackupSeconds: seconds(objectsBackupMs),
      pgRestoreSeconds: seconds(pgRestoreMs),
      objectsRestoreSeconds: seconds(objectsRestoreMs),
      restoreSeconds: seconds(restoreMs),
    };
    console.log(`backup-restore figures ${JSON.stringify(figures)}`);
  });
});

/**
 * Databases for tests. `createTestDatabase()` gives each caller its own migrated in-memory
 * PGlite without paying PGlite's initdb + migration cost every time: the first caller on the
 * machine builds a snapshot of a freshly migrated data directory and leaves it in the OS temp
 * dir, keyed by the PGlite version and a digest of the migration files; later callers (this
 * process or another test worker) load that tarball, which skips initdb.
 */
import { randomUUID } from 'node:crypto';
import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { migrationsDigest } from './migrations-folder.ts';
import { PgliteDatabase } from './pglite-database.ts';

const SNAPSHOT_PREFIX = 'parley-pglite-';
/** Snapshots of other migration sets are removed once this old (other checkouts may still use recent ones). */
const STALE_AFTER_MS = 24 * 60 * 60 * 1000;

let snapshot: Promise<{ blob: Blob; fromDisk: boolean }> | undefined;

/** A new, empty, fully migrated in-memory database. Close it when done; it holds ≈200–300 MB of RSS. */
export async function createTestDatabase(): Promise<PgliteDatabase> {
  snapshot ??= loadOrBuildSnapshot();
  const { blob, fromDisk } = await snapshot.catch((err: unknown) => {
    snapshot = undefined;
    throw err;
  });
  try {
    return await PgliteDatabase.open({ snapshot: blob });
  } catch (err) {
    snapshot = undefined;
    if (!fromDisk) throw err;
    // A cached file that does not load (truncated disk, foreign tool) is rebuilt once.
    await rm(testSnapshotPath(), { force: true });
    return createTestDatabase();
  }
}

/** Where the snapshot for the current migrations lives. */
export function testSnapshotPath(): string {
  const require = createRequire(import.meta.url);
  const pgliteDist = path.dirname(require.resolve('@electric-sql/pglite'));
  const { version } = require(path.join(pgliteDist, '..', 'package.json')) as { version: string };
  return path.join(os.tmpdir(), `${SNAPSHOT_PREFIX}${version}-${migrationsDigest().slice(0, 16)}.tar`);
}

async function loadOrBuildSnapshot(): Promise<{ blob: Blob; fromDisk: boolean }> {
  const file = testSnapshotPath();
  const cached = await readFile(file).catch(() => undefined);
  if (cached) return { blob: new Blob([cached]), fromDisk: true };
  const fresh = await PgliteDatabase.open();
  try {
    await fresh.migrate();
    const blob = await fresh.snapshot();
    // Write then rename: concurrent workers never read a half-written file; the last rename wins
    // and every candidate is identical anyway.
    const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
    await writeFile(tmp, new Uint8Array(await blob.arrayBuffer()));
    await rename(tmp, file);
    await pruneStaleSnapshots(file);
    return { blob, fromDisk: false };
  } finally {
    await fresh.close();
  }
}

async function pruneStaleSnapshots(keep: string): Promise<void> {
  const dir = path.dirname(keep);
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(SNAPSHOT_PREFIX) || path.join(dir, name) === keep) continue;
    const full = path.join(dir, name);
    const info = await stat(full).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > STALE_AFTER_MS) await rm(full, { force: true });
  }
}

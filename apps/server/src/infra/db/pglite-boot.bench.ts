/**
 * Prints how long PGlite takes to become usable and what it costs in memory, one fresh process
 * per measurement (so "cold" really is cold). Figures only, no thresholds:
 *   node --import tsx apps/server/src/infra/db/pglite-boot.bench.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PgliteDatabase } from './pglite-database.ts';
import { createTestDatabase, testSnapshotPath } from './testing.ts';

type Mode = 'cold-memory' | 'cold-dir' | 'warm-dir' | 'clone';

async function measure(mode: Mode, dir: string): Promise<void> {
  const t0 = performance.now();
  let first: PgliteDatabase;
  if (mode === 'clone') first = await createTestDatabase();
  else first = await PgliteDatabase.open({ dataDir: mode === 'cold-memory' ? undefined : dir });
  const booted = performance.now();
  await first.migrate();
  await first.ping();
  const ready = performance.now();
  const rss = process.memoryUsage().rss;
  let second = '';
  if (mode === 'clone') {
    const t = performance.now();
    const again = await createTestDatabase();
    await again.ping();
    second = ` second clone in this process ${Math.round(performance.now() - t)} ms, RSS with both ${mb(process.memoryUsage().rss)}`;
    await again.close();
  }
  await first.close();
  console.log(
    `${mode.padEnd(11)} open ${Math.round(booted - t0)} ms, migrated and ready ${Math.round(ready - t0)} ms, RSS ${mb(rss)}${second}`,
  );
}

const mb = (bytes: number) => `${Math.round(bytes / 1_048_576)} MiB`;

const [mode, dir] = process.argv.slice(2) as [Mode | undefined, string | undefined];
if (mode) {
  await measure(mode, dir!);
} else {
  const self = fileURLToPath(import.meta.url);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'parley-pglite-bench-'));
  const run = (m: Mode) =>
    process.stdout.write(
      execFileSync(process.execPath, ['--import', 'tsx', self, m, path.join(dataDir, 'pg')], { encoding: 'utf8' }),
    );
  try {
    await rm(testSnapshotPath(), { force: true });
    run('cold-memory');
    run('cold-dir');
    run('warm-dir');
    run('clone'); // builds the snapshot (cold boot + migrate + dump)
    run('clone'); // loads it from the temp dir
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

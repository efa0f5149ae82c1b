/**
 * Copies every stored object between the configured storage (local disk or S3) and a backup
 * directory, through the storage port: each object is read (and so integrity-checked) and written
 * again, encrypted in the backup with the backup key. `scripts/backup/objects.sh` runs this file.
 *
 * Backup key: BACKUP_MASTER_KEY, else STORAGE_MASTER_KEY, else the generated key of DATA_DIR.
 * Keep that key apart from the backups: without it they cannot be read.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig, type Config } from '../config.ts';
import { createLocalStorage, createStorage, loadOrCreateMasterKey, parseMasterKey } from '../infra/storage/index.ts';
import type { Storage } from '../infra/storage/storage.ts';

export interface CopyReport {
  objects: number;
  bytes: number;
}

const MANIFEST = 'manifest.json';

/** Copies every object of `from` into `to` with a few in flight; returns what was copied. */
export async function copyAll(from: Storage, to: Storage, concurrency = 8): Promise<CopyReport> {
  const keys = await from.list('');
  const report: CopyReport = { objects: 0, bytes: 0 };
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const key = keys[next++] as string;
      const object = await from.get(key);
      await to.put(key, object.bytes, object.contentType);
      report.objects++;
      report.bytes += object.bytes.byteLength;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, keys.length) }, worker));
  return report;
}

async function backupKey(config: Config, env: NodeJS.ProcessEnv): Promise<Uint8Array> {
  const given = env.BACKUP_MASTER_KEY ?? config.storage.masterKey;
  if (given) return parseMasterKey(given);
  if (config.storage.kind === 'local') return loadOrCreateMasterKey(config.server.dataDir);
  throw new Error('set BACKUP_MASTER_KEY (64 hex characters) to encrypt the object backup');
}

async function openLive(config: Config): Promise<Storage> {
  const masterKey =
    config.storage.kind === 'local' && !config.storage.masterKey
      ? await loadOrCreateMasterKey(config.server.dataDir)
      : undefined;
  return createStorage(config, { masterKey });
}

/** Live storage → `dir`, with a manifest of what was copied. */
export async function backupObjects(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<CopyReport> {
  const config = loadConfig(env);
  await mkdir(dir, { recursive: true });
  const live = await openLive(config);
  const backup = await createLocalStorage({ root: path.join(dir, 'objects'), masterKey: await backupKey(config, env) });
  try {
    const report = await copyAll(live, backup);
    await writeFile(path.join(dir, MANIFEST), `${JSON.stringify({ ...report, at: new Date().toISOString() })}\n`);
    return report;
  } finally {
    await live.close();
    await backup.close();
  }
}

/** `dir` → live storage; fails unless every object of the manifest arrived. */
export async function restoreObjects(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<CopyReport> {
  const config = loadConfig(env);
  const manifest = JSON.parse(await readFile(path.join(dir, MANIFEST), 'utf8')) as CopyReport;
  const backup = await createLocalStorage({ root: path.join(dir, 'objects'), masterKey: await backupKey(config, env) });
  const live = await openLive(config);
  try {
    const report = await copyAll(backup, live);
    if (report.objects !== manifest.objects)
      throw new Error(`restored ${report.objects} objects, the manifest lists ${manifest.objects}`);
    return report;
  } finally {
    await live.close();
    await backup.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [command, dir] = process.argv.slice(2);
  if ((command !== 'backup' && command !== 'restore') || !dir) {
    process.stderr.write('usage: backup-objects.ts backup|restore DIR\n');
    process.exit(2);
  }
  const started = performance.now();
  const report = await (command === 'backup' ? backupObjects(dir) : restoreObjects(dir));
  process.stderr.write(
    `${command}: ${report.objects} objects, ${report.bytes} bytes in ${Math.round(performance.now() - started)} ms\n`,
  );
}

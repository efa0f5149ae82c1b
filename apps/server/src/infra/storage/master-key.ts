import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseMasterKey } from './envelope.ts';

/**
 * The storage master key for installs that did not configure `STORAGE_MASTER_KEY`: read from
 * `<dataDir>/keys/storage-master.key` (64 hex characters, mode 0600), created on first boot.
 * Losing this file makes every stored object unreadable, so it is created exactly once: the key
 * is written to a temporary file and hard-linked into place, which fails if another process won.
 */
export async function loadOrCreateMasterKey(dataDir: string): Promise<Buffer> {
  return loadOrCreateKeyFile(dataDir, 'storage-master.key');
}

/**
 * A 32-byte secret kept in `<dataDir>/keys/<name>` (64 hex characters, mode 0600), created once
 * on first use: the embedded default for keys a split deployment sets in its environment.
 */
export async function loadOrCreateKeyFile(dataDir: string, name: string): Promise<Buffer> {
  const dir = path.join(dataDir, 'keys');
  const file = path.join(dir, name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const existing = await readKey(file);
  if (existing) return existing;

  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(`${randomBytes(32).toString('hex')}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await rm(tmp, { force: true });
  }
  const key = await readKey(file);
  if (!key) throw new Error(`Could not create the key at ${file}`);
  return key;
}

async function readKey(file: string): Promise<Buffer | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  // A key readable by others is a leak waiting to happen; tighten it rather than refuse to boot.
  if (((await stat(file)).mode & 0o077) !== 0) await chmod(file, 0o600);
  try {
    return parseMasterKey(text);
  } catch {
    throw new Error(`${file} does not hold a 32-byte key (64 hex characters)`);
  }
}

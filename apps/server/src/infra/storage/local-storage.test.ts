import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/app-error.ts';
import { createStorage } from './index.ts';
import { createLocalStorage, LocalStorage } from './local-storage.ts';
import { loadOrCreateMasterKey } from './master-key.ts';
import { runStorageContract } from './storage.contract.ts';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'parley-storage-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

describe('LocalStorage (contract)', () => {
  let root: string;
  runStorageContract({
    async create() {
      root = await mkdtemp(path.join(tmpdir(), 'parley-contract-'));
      const masterKey = randomBytes(32);
      const storage = await createLocalStorage({ root, masterKey });
      return {
        storage,
        masterKey,
        async tamper(key, mutate) {
          const file = storage.fileOf(key);
          await writeFile(file, mutate(await readFile(file)));
        },
        async close() {
          await storage.close();
          await rm(root, { recursive: true, force: true });
        },
      };
    },
  });
});

describe('LocalStorage on disk', () => {
  it('never writes the plaintext to disk', async () => {
    const root = await tempDir();
    const storage = await createLocalStorage({ root, masterKey: randomBytes(32) });
    const marker = `secret-answer-${randomBytes(8).toString('hex')}`;
    await storage.put('s/answer.txt', Buffer.from(marker.repeat(20)), 'text/x-very-private');
    await storage.putStream('s/stream.txt', Readable.from([Buffer.from(marker.repeat(20))]), 'text/x-very-private');
    const files = await filesUnder(root);
    expect(files.sort()).toEqual(['s/answer.txt~obj', 's/stream.txt~obj']);
    for (const f of files) {
      const raw = await readFile(path.join(root, f));
      expect(raw.includes(marker)).toBe(false);
    }
  });

  it('leaves no temporary file behind after writes, failed or not', async () => {
    const root = await tempDir();
    const storage = await createLocalStorage({ root, masterKey: randomBytes(32) });
    await storage.put('a/b', Buffer.from('x'), 'text/plain');
    const failing = Readable.from(
      (async function* () {
        yield Buffer.alloc(1024);
        throw new Error('source died');
      })(),
    );
    await expect(storage.putStream('a/c', failing, 'text/plain')).rejects.toThrow('source died');
    expect(await readdir(path.join(root, '~tmp'))).toEqual([]);
    expect(await filesUnder(root)).toEqual(['a/b~obj']);
  });

  it('removes temporary files left by a crash once they are stale, and keeps recent ones', async () => {
    const root = await tempDir();
    await createLocalStorage({ root, masterKey: randomBytes(32) });
    const stale = path.join(root, '~tmp', 'crashed.tmp');
    const recent = path.join(root, '~tmp', 'in-flight.tmp');
    await writeFile(stale, 'half an object');
    await writeFile(recent, 'being written');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(stale, twoHoursAgo, twoHoursAgo);
    await createLocalStorage({ root, masterKey: randomBytes(32) });
    expect(await readdir(path.join(root, '~tmp'))).toEqual(['in-flight.tmp']);
  });

  it('prunes directories that deleting left empty', async () => {
    const root = await tempDir();
    const storage = await createLocalStorage({ root, masterKey: randomBytes(32) });
    await storage.put('org/s1/frames/1.jpg', Buffer.from('x'), 'image/jpeg');
    await storage.put('org/s2/a.webm', Buffer.from('x'), 'video/webm');
    await storage.delete('org/s1/frames/1.jpg');
    expect((await readdir(root)).sort()).toEqual(['org', '~tmp']);
    expect(await readdir(path.join(root, 'org'))).toEqual(['s2']);
  });

  it('opens objects sealed under a previous master key after a rotation', async () => {
    const root = await tempDir();
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    await (
      await createLocalStorage({ root, masterKey: oldKey })
    ).put('k', Buffer.from('before rotation'), 'text/plain');
    const rotated = await createLocalStorage({ root, masterKey: newKey, previousMasterKeys: [oldKey] });
    expect(Buffer.from((await rotated.get('k')).bytes).toString()).toBe('before rotation');
    const part = await rotated.getRange('k', () => ({ start: 7, end: 14 }));
    expect(Buffer.concat(await part.body.toArray()).toString()).toBe('rotation');
    const wrongKey = await createLocalStorage({ root, masterKey: newKey });
    await expect(wrongKey.get('k')).rejects.toMatchObject({ code: 'INTEGRITY_CHECK_FAILED' });
    await expect(wrongKey.getRange('k', () => undefined)).rejects.toMatchObject({ code: 'INTEGRITY_CHECK_FAILED' });
  });

  it('reports an unwritable root on ping', async () => {
    const root = await tempDir();
    const storage = await createLocalStorage({ root, masterKey: randomBytes(32) });
    await rm(root, { recursive: true });
    await writeFile(root, 'not a directory');
    await expect(storage.ping()).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
  });
});

describe('loadOrCreateMasterKey', () => {
  it('creates a 32-byte key in <dataDir>/keys with mode 0600, then returns the same key', async () => {
    const dataDir = await tempDir();
    const first = await loadOrCreateMasterKey(dataDir);
    expect(first.length).toBe(32);
    const file = path.join(dataDir, 'keys', 'storage-master.key');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readFile(file, 'utf8')).trim()).toBe(first.toString('hex'));
    expect((await loadOrCreateMasterKey(dataDir)).equals(first)).toBe(true);
  });

  it('gives every concurrent caller the same key', async () => {
    const dataDir = await tempDir();
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateMasterKey(dataDir)));
    for (const k of keys) expect(k.equals(keys[0]!)).toBe(true);
    expect(await readdir(path.join(dataDir, 'keys'))).toEqual(['storage-master.key']);
  });

  it('refuses a key file that does not hold a key, rather than replacing it', async () => {
    const dataDir = await tempDir();
    await loadOrCreateMasterKey(dataDir);
    const file = path.join(dataDir, 'keys', 'storage-master.key');
    await writeFile(file, 'not hex');
    await expect(loadOrCreateMasterKey(dataDir)).rejects.toThrow('does not hold a 32-byte key');
    expect(await readFile(file, 'utf8')).toBe('not hex');
  });
});

describe('createStorage', () => {
  it('builds local storage from the config and a master key (hex or bytes)', async () => {
    const root = await tempDir();
    const key = randomBytes(32);
    const fromBytes = await createStorage({ storage: { kind: 'local', root } }, { masterKey: key });
    expect(fromBytes).toBeInstanceOf(LocalStorage);
    await fromBytes.put('k', Buffer.from('v'), 'text/plain');
    const fromConfig = await createStorage({ storage: { kind: 'local', root, masterKey: key.toString('hex') } });
    expect(Buffer.from((await fromConfig.get('k')).bytes).toString()).toBe('v');
  });

  it('refuses local storage without a master key', async () => {
    const root = await tempDir();
    await expect(createStorage({ storage: { kind: 'local', root } })).rejects.toThrow('needs a master key');
    await expect(createStorage({ storage: { kind: 'local', root } }, { masterKey: 'abc' })).rejects.not.toBeInstanceOf(
      AppError,
    );
  });
});

import { randomUUID } from 'node:crypto';
import {
  access,
  constants,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
  type FileHandle,
} from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { AppError } from '../../shared/app-error.ts';
import { Envelope, HEADER_READ_BYTES } from './envelope.ts';
import { assertValidKey, assertValidPrefix } from './keys.ts';
import { lazyBody, pickSpan } from './ranges.ts';
import type { RangePicker, Storage, StoredObject, StoredRange } from './storage.ts';

/*
 * Layout under the root: key "a/b/c.webm" is the file "a/b/c.webm~obj". The suffix uses "~",
 * which no key segment may contain, so an object and a "directory" of the same name ("a/b" and
 * "a/b/c") never collide, and nothing else in the tree (temporary files in "~tmp/") looks like an
 * object. Every file is an envelope (envelope.ts): the disk never sees plaintext.
 */
const OBJECT_SUFFIX = '~obj';
const TEMP_DIR = '~tmp';
/** Temporary files older than this are leftovers of a crash; younger ones may be in flight. */
const STALE_TEMP_MS = 60 * 60 * 1000;

export interface LocalStorageOptions {
  root: string;
  masterKey: Uint8Array;
  /** Master keys of earlier rotations, still accepted for reading. */
  previousMasterKeys?: Uint8Array[];
}

/** Creates the root, removes temporary files left by a crash, and returns the storage. */
export async function createLocalStorage(options: LocalStorageOptions): Promise<LocalStorage> {
  const storage = new LocalStorage(options);
  await storage.prepare();
  return storage;
}

/** Encrypted objects on local disk: the embedded default. Writes are atomic (temp file + rename). */
export class LocalStorage implements Storage {
  readonly root: string;
  private readonly envelope: Envelope;

  constructor(options: LocalStorageOptions) {
    this.root = path.resolve(options.root);
    this.envelope = new Envelope(options.masterKey, { previousKeys: options.previousMasterKeys });
  }

  /** The file holding a key's envelope (for operators and integrity tests). */
  fileOf(key: string): string {
    assertValidKey(key);
    return path.join(this.root, ...key.split('/')) + OBJECT_SUFFIX;
  }

  async prepare(): Promise<void> {
    await mkdir(path.join(this.root, TEMP_DIR), { recursive: true, mode: 0o700 });
    const tempDir = path.join(this.root, TEMP_DIR);
    const now = Date.now();
    for (const name of await readdir(tempDir)) {
      const file = path.join(tempDir, name);
      const info = await stat(file).catch(() => undefined);
      if (info && now - info.mtimeMs > STALE_TEMP_MS) await rm(file, { force: true });
    }
  }

  async put(key: string, bytes: Uint8Array, contentType: string): Promise<void> {
    const file = this.fileOf(key);
    const sealed = this.envelope.seal(bytes, contentType);
    await this.writeAtomically(file, async (tmp) => {
      const handle = await open(tmp, 'wx', 0o600);
      try {
        await handle.writeFile(sealed);
        await handle.sync();
      } finally {
        await handle.close();
      }
    });
  }

  async putStream(key: string, body: Readable, contentType: string): Promise<{ size: number }> {
    const file = this.fileOf(key);
    const sealed = this.envelope.sealStream(body, contentType);
    await this.writeAtomically(file, async (tmp) => {
      // The file exists before the first byte, so a failed stream can never create it after the
      // clean-up has run (a stream opening the path itself could, its open still pending).
      const handle = await open(tmp, 'wx', 0o600);
      try {
        for await (const chunk of sealed.chunks) {
          for (let at = 0; at < chunk.length;) at += (await handle.write(chunk, at)).bytesWritten;
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
    });
    return { size: sealed.plaintextBytes() };
  }

  async get(key: string): Promise<StoredObject> {
    const file = this.fileOf(key);
    let raw: Buffer;
    try {
      raw = await readFile(file);
    } catch (err) {
      if (isMissing(err)) throw new AppError('NOT_FOUND', `No stored object at "${key}"`);
      throw err;
    }
    const { bytes, contentType } = this.envelope.open(raw);
    return { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), contentType };
  }

  async getRange(key: string, pick: RangePicker): Promise<StoredRange> {
    const file = this.fileOf(key);
    const handle = await open(file, 'r').catch((err: unknown) => {
      throw isMissing(err) ? new AppError('NOT_FOUND', `No stored object at "${key}"`) : err;
    });
    let head: Buffer;
    let seen: FileIdentity;
    try {
      const info = await handle.stat();
      seen = { dev: info.dev, ino: info.ino, size: info.size };
      head = await readAt(handle, 0, Math.min(HEADER_READ_BYTES, info.size));
    } finally {
      await handle.close();
    }
    const object = this.envelope.openHeader(head, seen.size);
    const span = pickSpan(pick, object.size);
    // The body reopens the file when it is read, so an unread body holds no descriptor. A write
    // renames a new file into place: a different inode means the object changed in between.
    const fetch = async function* (from: number, to: number): AsyncGenerator<Buffer, void, undefined> {
      const again = await open(file, 'r').catch((err: unknown) => {
        throw isMissing(err) ? replaced(key) : err;
      });
      try {
        const info = await again.stat();
        if (info.dev !== seen.dev || info.ino !== seen.ino || info.size !== seen.size) throw replaced(key);
        for (let at = from; at < to; at += READ_CHUNK_BYTES) {
          yield await readAt(again, at, Math.min(READ_CHUNK_BYTES, to - at));
        }
      } finally {
        await again.close();
      }
    };
    return {
      size: object.size,
      contentType: object.contentType,
      span,
      body: lazyBody(span && (() => object.read(span.start, span.end, fetch))),
    };
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.fileOf(key))).isFile();
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.fileOf(key);
    await rm(file, { force: true });
    // Empty directories would pile up (one per session); prune them up to the root.
    let dir = path.dirname(file);
    while (dir !== this.root && dir.startsWith(this.root + path.sep)) {
      try {
        await rmdir(dir);
      } catch {
        break; // not empty, already gone, or being written to: all fine
      }
      dir = path.dirname(dir);
    }
  }

  async list(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    const baseKey = prefix.slice(0, slash + 1); // "a/b/" of "a/b/c", "" of "abc"
    const start = path.join(this.root, ...baseKey.split('/').filter(Boolean));
    const keys: string[] = [];
    const pending: Array<{ dir: string; keyPrefix: string }> = [{ dir: start, keyPrefix: baseKey }];
    while (pending.length > 0) {
      const { dir, keyPrefix } = pending.pop()!;
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isMissing(err)) continue;
        throw err;
      }
      for (const entry of entries) {
        if (entry.isDirectory()) {
          if (entry.name.includes('~')) continue; // the temp dir, never a key segment
          const next = `${keyPrefix}${entry.name}/`;
          if (next.startsWith(prefix)) {
            pending.push({ dir: path.join(dir, entry.name), keyPrefix: next });
          }
        } else if (entry.isFile() && entry.name.endsWith(OBJECT_SUFFIX)) {
          const key = keyPrefix + entry.name.slice(0, -OBJECT_SUFFIX.length);
          if (key.startsWith(prefix)) keys.push(key);
        }
      }
    }
    return keys.sort();
  }

  async ping(): Promise<void> {
    try {
      await access(path.join(this.root, TEMP_DIR), constants.R_OK | constants.W_OK);
    } catch (err) {
      throw new AppError('SERVICE_UNAVAILABLE', `Storage root ${this.root} is not writable: ${(err as Error).message}`);
    }
  }

  async close(): Promise<void> {}

  /**
   * Writes through a temporary file in the root's temp dir (same filesystem), then renames it
   * into place: readers see the old object or the new one, never a part, and a crash leaves only
   * a temp file that `prepare` removes later.
   */
  private async writeAtomically(file: string, write: (tmp: string) => Promise<void>): Promise<void> {
    const tmp = path.join(this.root, TEMP_DIR, `${randomUUID()}.tmp`);
    try {
      await write(tmp);
      // A concurrent delete may prune the directory between mkdir and rename: retry.
      for (let attempt = 1; ; attempt++) {
        await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
        try {
          await rename(tmp, file);
          break;
        } catch (err) {
          if (!isMissing(err) || attempt >= 5) throw err;
        }
      }
      await syncDir(path.dirname(file));
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }
}

interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
}

/** Reads of a ranged body: large enough for few system calls, small enough to stream. */
const READ_CHUNK_BYTES = 256 * 1024;

/** Exactly `length` bytes at `position` (a short read means the file shrank: it was replaced). */
async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) throw new AppError('CONFLICT', 'A stored object changed while it was read');
    done += bytesRead;
  }
  return buffer;
}

function replaced(key: string): AppError {
  return new AppError('CONFLICT', `The stored object at "${key}" was replaced or deleted while it was read`);
}

async function syncDir(dir: string): Promise<void> {
  // Makes the rename durable. Some filesystems refuse fsync on a directory; the rename still holds.
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    /* best effort */
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

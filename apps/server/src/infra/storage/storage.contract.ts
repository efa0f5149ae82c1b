/**
 * The behaviour every `Storage` implementation must have. Each implementation's test file calls
 * `runStorageContract` once; nothing here knows which implementation it is testing.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/app-error.ts';
import { SEGMENT_BYTES } from './envelope.ts';
import type { Storage } from './storage.ts';
import { sealVersion1 } from './testing.ts';

export interface StorageHarness {
  storage: Storage;
  /**
   * Rewrites an object's bytes as they are at rest (the envelope). Absent when the
   * implementation stores plaintext and has no integrity check to test.
   */
  tamper?: (key: string, mutate: (raw: Buffer) => Buffer) => Promise<void>;
  /** The master key objects are sealed with, to plant objects in an older format through `tamper`. */
  masterKey?: Uint8Array;
  close(): Promise<void>;
}

export interface StorageContractOptions {
  create(): Promise<StorageHarness>;
  /** Why tampering is not tested, when `tamper` is absent (shown as the skipped test's name). */
  noTamperReason?: string;
}

const MB = 1024 * 1024;
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** `size` random bytes in odd-sized chunks, hashing what it yields. */
function generated(size: number, chunk = 64 * 1024 + 7): { stream: Readable; digest(): string } {
  const hash = createHash('sha256');
  let left = size;
  const stream = Readable.from(
    (function* () {
      while (left > 0) {
        const bytes = randomBytes(Math.min(chunk, left));
        left -= bytes.length;
        hash.update(bytes);
        yield bytes;
      }
    })(),
  );
  return { stream, digest: () => hash.copy().digest('hex') };
}

/** Bytes `start`…`end` through `getRange`, checking what it reports. */
async function readSpan(storage: Storage, key: string, start: number, end: number): Promise<Buffer> {
  const got = await storage.getRange(key, () => ({ start, end }));
  expect(got.span).toEqual({ start, end });
  return bytesOf(got.body);
}

async function bytesOf(body: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of body) parts.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts);
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected AppError ${code}`).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe(code);
}

export function runStorageContract(options: StorageContractOptions): void {
  let h: StorageHarness;
  let storage: Storage;
  // Every test works under its own prefix, so runs and tests never see each other's objects.
  const run = `contract-${randomUUID().slice(0, 8)}`;
  let n = 0;
  const fresh = (): string => `${run}/t${++n}`;

  beforeAll(async () => {
    h = await options.create();
    storage = h.storage;
  });
  afterAll(async () => {
    if (!h) return;
    for (const key of await storage.list(`${run}/`)) await storage.delete(key);
    await h.close();
  });

  describe('put and get', () => {
    it('round-trips binary bytes (every byte value) with their content type', async () => {
      const key = `${fresh()}/all-bytes.bin`;
      const bytes = new Uint8Array(256 * 4).map((_, i) => i % 256);
      await storage.put(key, bytes, 'application/octet-stream');
      const got = await storage.get(key);
      expect(Buffer.from(got.bytes).equals(Buffer.from(bytes))).toBe(true);
      expect(got.contentType).toBe('application/octet-stream');
    });

    it('round-trips an empty object', async () => {
      const key = `${fresh()}/empty`;
      await storage.put(key, new Uint8Array(), 'text/plain');
      const got = await storage.get(key);
      expect(got.bytes.length).toBe(0);
      expect(got.contentType).toBe('text/plain');
    });

    it('round-trips a 5 MB object byte for byte', async () => {
      const key = `${fresh()}/five.bin`;
      const bytes = randomBytes(5 * MB);
      await storage.put(key, bytes, 'video/webm');
      const got = await storage.get(key);
      expect(got.bytes.length).toBe(bytes.length);
      expect(sha256(got.bytes)).toBe(sha256(bytes));
    });

    it('keeps the content type exactly, parameters included', async () => {
      const key = `${fresh()}/answer.webm`;
      await storage.put(key, Buffer.from('x'), 'audio/webm;codecs=opus');
      expect((await storage.get(key)).contentType).toBe('audio/webm;codecs=opus');
    });

    it('overwrites an object, bytes and content type', async () => {
      const key = `${fresh()}/report`;
      await storage.put(key, Buffer.from('first version'), 'text/plain');
      await storage.put(key, Buffer.from('{"second":true}'), 'application/json');
      const got = await storage.get(key);
      expect(Buffer.from(got.bytes).toString()).toBe('{"second":true}');
      expect(got.contentType).toBe('application/json');
      expect(await storage.list(key)).toEqual([key]);
    });

    it('lets a key be both an object and the prefix of other objects', async () => {
      const base = fresh();
      await storage.put(`${base}/a`, Buffer.from('parent'), 'text/plain');
      await storage.put(`${base}/a/b`, Buffer.from('child'), 'text/plain');
      expect(Buffer.from((await storage.get(`${base}/a`)).bytes).toString()).toBe('parent');
      expect(Buffer.from((await storage.get(`${base}/a/b`)).bytes).toString()).toBe('child');
    });

    it('keeps concurrent writes to different keys apart', async () => {
      const base = fresh();
      const keys = Array.from({ length: 12 }, (_, i) => `${base}/frame-${String(i).padStart(2, '0')}.jpg`);
      await Promise.all(keys.map((k, i) => storage.put(k, Buffer.from(`frame ${i}`), 'image/jpeg')));
      const got = await Promise.all(keys.map(async (k) => Buffer.from((await storage.get(k)).bytes).toString()));
      expect(got).toEqual(keys.map((_, i) => `frame ${i}`));
    });

    it('answers NOT_FOUND for a missing key', async () => {
      await expectCode(storage.get(`${fresh()}/missing`), 'NOT_FOUND');
    });
  });

  describe('exists, delete, list', () => {
    it('tells whether a key exists, before and after delete', async () => {
      const key = `${fresh()}/x.txt`;
      expect(await storage.exists(key)).toBe(false);
      await storage.put(key, Buffer.from('x'), 'text/plain');
      expect(await storage.exists(key)).toBe(true);
      await storage.delete(key);
      expect(await storage.exists(key)).toBe(false);
      await expectCode(storage.get(key), 'NOT_FOUND');
    });

    it('deletes idempotently: a missing key, or the same key twice, is not an error', async () => {
      const key = `${fresh()}/gone`;
      await storage.delete(key);
      await storage.put(key, Buffer.from('x'), 'text/plain');
      await storage.delete(key);
      await storage.delete(key);
      expect(await storage.exists(key)).toBe(false);
    });

    it('deleting one object leaves its siblings and children alone', async () => {
      const base = fresh();
      await storage.put(`${base}/a`, Buffer.from('1'), 'text/plain');
      await storage.put(`${base}/a/b`, Buffer.from('2'), 'text/plain');
      await storage.put(`${base}/c`, Buffer.from('3'), 'text/plain');
      await storage.delete(`${base}/a`);
      expect(await storage.list(`${base}/`)).toEqual([`${base}/a/b`, `${base}/c`]);
    });

    it('lists every key under a prefix, sorted, and nothing outside it', async () => {
      const base = fresh();
      const inside = [`${base}/s1/frames/0002.jpg`, `${base}/s1/answer.webm`, `${base}/s1/frames/0001.jpg`];
      const outside = [`${base}/s10/answer.webm`, `${base}/s2/answer.webm`, `${base}/s1.txt`];
      for (const k of [...inside, ...outside]) await storage.put(k, Buffer.from(k), 'text/plain');
      expect(await storage.list(`${base}/s1/`)).toEqual([...inside].sort());
      expect(await storage.list(`${base}/s1/frames/`)).toEqual([
        `${base}/s1/frames/0001.jpg`,
        `${base}/s1/frames/0002.jpg`,
      ]);
    });

    it('treats a prefix as a string prefix, also inside a segment', async () => {
      const base = fresh();
      for (const k of ['s1/a', 's10/a', 's2/a', 's1.txt'])
        await storage.put(`${base}/${k}`, Buffer.from(k), 'text/plain');
      expect(await storage.list(`${base}/s1`)).toEqual([`${base}/s1.txt`, `${base}/s1/a`, `${base}/s10/a`]);
      expect(await storage.list(`${base}/`)).toEqual(
        [`${base}/s1.txt`, `${base}/s1/a`, `${base}/s10/a`, `${base}/s2/a`].sort(),
      );
    });

    it('lists nothing for a prefix with no objects', async () => {
      expect(await storage.list(`${fresh()}/nothing-here/`)).toEqual([]);
    });
  });

  describe('putStream', () => {
    it('streams a 12 MB upload in (several multipart parts) and returns exactly the input bytes', async () => {
      const key = `${fresh()}/recording.webm`;
      const input = generated(12 * MB);
      const { size } = await storage.putStream(key, input.stream, 'video/webm');
      expect(size).toBe(12 * MB);
      const got = await storage.get(key);
      expect(got.bytes.length).toBe(12 * MB);
      expect(sha256(got.bytes)).toBe(input.digest());
      expect(got.contentType).toBe('video/webm');
    });

    it('streams a small upload and an empty one', async () => {
      const base = fresh();
      expect(
        await storage.putStream(`${base}/small`, Readable.from([Buffer.from('hello '), 'world']), 'text/plain'),
      ).toEqual({
        size: 11,
      });
      expect(Buffer.from((await storage.get(`${base}/small`)).bytes).toString()).toBe('hello world');
      expect(await storage.putStream(`${base}/empty`, Readable.from([]), 'text/plain')).toEqual({ size: 0 });
      expect((await storage.get(`${base}/empty`)).bytes.length).toBe(0);
    });

    it('leaves no object, and the previous version intact, when the source stream fails midway', async () => {
      const key = `${fresh()}/broken.webm`;
      await storage.put(key, Buffer.from('previous'), 'text/plain');
      const failing = Readable.from(
        (async function* () {
          yield randomBytes(6 * MB);
          yield randomBytes(1 * MB);
          throw new Error('camera unplugged');
        })(),
      );
      await expect(storage.putStream(key, failing, 'video/webm')).rejects.toThrow('camera unplugged');
      expect(Buffer.from((await storage.get(key)).bytes).toString()).toBe('previous');
      const fresh2 = `${fresh()}/never.webm`;
      const failing2 = Readable.from(
        (async function* () {
          yield randomBytes(1024);
          throw new Error('network gone');
        })(),
      );
      await expect(storage.putStream(fresh2, failing2, 'video/webm')).rejects.toThrow('network gone');
      expect(await storage.exists(fresh2)).toBe(false);
    });
  });

  describe('getRange', () => {
    const S = SEGMENT_BYTES;

    it('returns exactly the bytes asked of a multi-segment object, with its size and type', async () => {
      const key = `${fresh()}/long.webm`;
      const bytes = randomBytes(16 * S + 123);
      await storage.put(key, bytes, 'video/webm;codecs=vp9');
      const spans: [number, number][] = [
        [0, 0],
        [S - 1, S],
        [1000, 5 * S + 17],
        [bytes.length - 1, bytes.length - 1],
        [0, bytes.length - 1],
      ];
      for (const [start, end] of spans) {
        const got = await readSpan(storage, key, start, end);
        expect(got.equals(bytes.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
      }
      let seen = -1;
      const tail = await storage.getRange(key, (size) => {
        seen = size;
        return { start: size - 1000, end: size - 1 };
      });
      expect(seen).toBe(bytes.length);
      expect(tail).toMatchObject({ size: bytes.length, contentType: 'video/webm;codecs=vp9' });
      expect((await bytesOf(tail.body)).equals(bytes.subarray(-1000))).toBe(true);
    });

    it('reads ranges of a streamed upload', async () => {
      const key = `${fresh()}/streamed.webm`;
      const bytes = randomBytes(6 * MB + 5);
      await storage.putStream(key, Readable.from([bytes.subarray(0, 3 * MB), bytes.subarray(3 * MB)]), 'video/webm');
      for (const start of [0, 1 * MB + 3, 5 * MB]) {
        const end = Math.min(bytes.length - 1, start + MB - 1);
        expect((await readSpan(storage, key, start, end)).equals(bytes.subarray(start, end + 1))).toBe(true);
      }
    });

    it('tells the size and type alone when nothing is picked, also of an empty object', async () => {
      const base = fresh();
      await storage.put(`${base}/empty`, new Uint8Array(), 'text/plain');
      await storage.put(`${base}/some`, randomBytes(3 * S), 'image/jpeg');
      for (const [key, size, type] of [
        [`${base}/empty`, 0, 'text/plain'],
        [`${base}/some`, 3 * S, 'image/jpeg'],
      ] as const) {
        const got = await storage.getRange(key, () => undefined);
        expect(got).toMatchObject({ size, contentType: type, span: undefined });
        expect((await bytesOf(got.body)).length).toBe(0);
      }
    });

    it('refuses a pick outside the object, a missing key and an invalid key', async () => {
      const key = `${fresh()}/small`;
      await storage.put(key, Buffer.from('0123456789'), 'text/plain');
      for (const span of [
        { start: 0, end: 10 },
        { start: 5, end: 4 },
        { start: -1, end: 2 },
        { start: 0.5, end: 2 },
      ]) {
        await expectCode(
          storage.getRange(key, () => span),
          'VALIDATION_FAILED',
        );
      }
      await expectCode(
        storage.getRange(`${fresh()}/missing`, () => undefined),
        'NOT_FOUND',
      );
      await expectCode(
        storage.getRange('../x', () => undefined),
        'INVALID_STORAGE_KEY',
      );
    });

    it('never mixes two versions: a body read after the object was replaced or deleted fails with CONFLICT', async () => {
      const key = `${fresh()}/replaced.webm`;
      await storage.put(key, randomBytes(4 * S), 'video/webm');
      const before = await storage.getRange(key, () => ({ start: 2 * S, end: 3 * S }));
      await storage.put(key, randomBytes(4 * S), 'video/webm');
      await expectCode(bytesOf(before.body), 'CONFLICT');
      const beforeDelete = await storage.getRange(key, () => ({ start: 0, end: 99 }));
      await storage.delete(key);
      await expectCode(bytesOf(beforeDelete.body), 'CONFLICT');
    });

    it('lets a reader stop early and drop a body unread', async () => {
      const key = `${fresh()}/stop.webm`;
      const bytes = randomBytes(2 * MB);
      await storage.put(key, bytes, 'video/webm');
      const unread = await storage.getRange(key, (size) => ({ start: 0, end: size - 1 }));
      unread.body.destroy();
      const partial = await storage.getRange(key, (size) => ({ start: 0, end: size - 1 }));
      for await (const chunk of partial.body) {
        expect(Buffer.from(chunk as Uint8Array).equals(bytes.subarray(0, (chunk as Uint8Array).length))).toBe(true);
        break; // leaving the loop destroys the body
      }
      expect(partial.body.destroyed).toBe(true);
      expect((await readSpan(storage, key, 10, 20)).equals(bytes.subarray(10, 21))).toBe(true);
    });
  });

  describe('keys', () => {
    const bad = [
      '../x',
      'a/../../x',
      '/etc/passwd',
      'a//b',
      'a\\b',
      '..\\..\\x',
      '',
      'a/',
      './a',
      'a/./b',
      'a\0b',
      'sp ace',
      'ü',
      'x'.repeat(513),
    ];
    it.each(bad.map((k) => [JSON.stringify(k).slice(0, 40), k]))('refuses the key %s everywhere', async (_, key) => {
      const stream = Readable.from([Buffer.from('x')]);
      await expectCode(storage.put(key, Buffer.from('x'), 'text/plain'), 'INVALID_STORAGE_KEY');
      await expectCode(storage.putStream(key, stream, 'text/plain'), 'INVALID_STORAGE_KEY');
      await expectCode(storage.get(key), 'INVALID_STORAGE_KEY');
      await expectCode(storage.exists(key), 'INVALID_STORAGE_KEY');
      await expectCode(storage.delete(key), 'INVALID_STORAGE_KEY');
    });

    it('refuses listing prefixes that could escape', async () => {
      for (const p of ['../', '/etc', 'a//', 'a\\', '../x/']) await expectCode(storage.list(p), 'INVALID_STORAGE_KEY');
    });

    it('accepts keys made of letters, digits, dot, dash and underscore', async () => {
      const key = `${fresh()}/Org_1/session-2/.meta/answer.v2.webm`;
      await storage.put(key, Buffer.from('ok'), 'text/plain');
      expect(await storage.exists(key)).toBe(true);
    });
  });

  describe('integrity', () => {
    const cases: [string, (raw: Buffer) => Buffer][] = [
      ['a flipped byte in the body', (raw) => flip(raw, raw.length - 40)],
      ['a flipped byte in the header', (raw) => flip(raw, 20)],
      ['a changed content type', (raw) => flip(raw, raw.indexOf('text/plain') + 1)],
      ['a truncated object', (raw) => raw.subarray(0, raw.length - 1)],
      ['an object replaced by plaintext', () => Buffer.from('plaintext someone planted')],
    ];
    for (const [what, mutate] of cases) {
      const title = `refuses ${what} with INTEGRITY_CHECK_FAILED, never returning bytes`;
      if (options.noTamperReason) {
        it.skip(`${title} (skipped: ${options.noTamperReason})`, () => {});
        continue;
      }
      it(title, async () => {
        if (!h.tamper) throw new Error('harness has no tamper(); pass noTamperReason instead');
        const key = `${fresh()}/evidence.txt`;
        await storage.put(key, Buffer.from('the candidate said this. '.repeat(10)), 'text/plain');
        await h.tamper(key, mutate);
        await expectCode(storage.get(key), 'INTEGRITY_CHECK_FAILED');
        await expectCode(readSpan(storage, key, 0, 9), 'INTEGRITY_CHECK_FAILED');
      });
    }

    // Offsets in a sealed object whose content type is "video/webm" (envelope.ts, version 2).
    const S = SEGMENT_BYTES;
    const segmentAt = (i: number) => 87 + 'video/webm'.length + i * (S + 16);
    const ranged: [string, (raw: Buffer) => Buffer, [number, number]][] = [
      ['a flipped byte in a segment the range covers', (raw) => flip(raw, segmentAt(2) + 5), [S, 3 * S]],
      ['an object cut at a segment boundary', (raw) => raw.subarray(0, segmentAt(7)), [0, 99]],
      [
        'two segments swapped',
        (raw) =>
          Buffer.concat([
            raw.subarray(0, segmentAt(1)),
            raw.subarray(segmentAt(2), segmentAt(3)),
            raw.subarray(segmentAt(1), segmentAt(2)),
            raw.subarray(segmentAt(3)),
          ]),
        [S, S + 9],
      ],
    ];
    for (const [what, mutate, [start, end]] of ranged) {
      const title = `refuses by range ${what} with INTEGRITY_CHECK_FAILED, never returning its bytes`;
      if (options.noTamperReason) {
        it.skip(`${title} (skipped: ${options.noTamperReason})`, () => {});
        continue;
      }
      it(title, async () => {
        const key = `${fresh()}/recording.webm`;
        const bytes = randomBytes(7 * S + 500);
        await storage.put(key, bytes, 'video/webm');
        await h.tamper!(key, mutate);
        const got = await storage.getRange(key, () => ({ start, end }));
        const seen: Buffer[] = [];
        await expectCode(
          (async () => {
            for await (const chunk of got.body) seen.push(Buffer.from(chunk as Uint8Array));
          })(),
          'INTEGRITY_CHECK_FAILED',
        );
        // Bytes yielded before the failure are the true ones, from segments that checked.
        const before = Buffer.concat(seen);
        expect(before.equals(bytes.subarray(start, start + before.length))).toBe(true);
        expect(start + before.length).toBeLessThanOrEqual(2 * S);
      });
    }

    const unread = 'reads a range without decrypting the rest: a damaged segment elsewhere does not fail it';
    if (options.noTamperReason) it.skip(`${unread} (skipped: ${options.noTamperReason})`, () => {});
    else
      it(unread, async () => {
        const key = `${fresh()}/partly-damaged.webm`;
        const bytes = randomBytes(7 * S + 500);
        await storage.put(key, bytes, 'video/webm');
        await h.tamper!(key, (raw) => flip(raw, segmentAt(1) + 5));
        expect((await readSpan(storage, key, 4 * S, 5 * S)).equals(bytes.subarray(4 * S, 5 * S + 1))).toBe(true);
        await expectCode(readSpan(storage, key, S, S), 'INTEGRITY_CHECK_FAILED');
        await expectCode(storage.get(key), 'INTEGRITY_CHECK_FAILED');
      });

    const legacy = 'reads an object written in envelope version 1, whole and by range';
    if (options.noTamperReason) {
      it.skip(`${legacy} (skipped: ${options.noTamperReason})`, () => {});
    } else {
      it(legacy, async () => {
        if (!h.masterKey) throw new Error('harness has no masterKey; pass noTamperReason instead');
        const key = `${fresh()}/legacy.webm`;
        const bytes = randomBytes(3 * S + 21);
        await storage.put(key, Buffer.from('placeholder'), 'text/plain');
        await h.tamper!(key, () => sealVersion1(h.masterKey!, bytes, 'video/webm'));
        const whole = await storage.get(key);
        expect(Buffer.from(whole.bytes).equals(bytes)).toBe(true);
        expect(whole.contentType).toBe('video/webm');
        const got = await storage.getRange(key, () => ({ start: S + 1, end: 2 * S + 1 }));
        expect(got).toMatchObject({ size: bytes.length, contentType: 'video/webm' });
        expect((await bytesOf(got.body)).equals(bytes.subarray(S + 1, 2 * S + 2))).toBe(true);
      });
    }
  });

  it('answers ping when healthy', async () => {
    await expect(storage.ping()).resolves.toBeUndefined();
  });
}

function flip(raw: Buffer, at: number): Buffer {
  const copy = Buffer.from(raw);
  copy[at] = (copy[at] ?? 0) ^ 0x01;
  return copy;
}

import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Envelope, HEADER_READ_BYTES, parseMasterKey, SEGMENT_BYTES, sealedSize } from './envelope.ts';
import { sealVersion1 } from './testing.ts';

const S = SEGMENT_BYTES;
const STRIDE = S + 16;

/** The error `fn` throws (fails the test when it throws nothing). */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

async function sealByStream(envelope: Envelope, plaintext: Buffer, contentType: string, chunk = 1000): Promise<Buffer> {
  const pieces = [];
  for (let i = 0; i < plaintext.length; i += chunk) pieces.push(plaintext.subarray(i, i + chunk));
  const sealed = envelope.sealStream(Readable.from(pieces), contentType);
  const out = [];
  for await (const c of sealed.chunks) out.push(c);
  expect(sealed.plaintextBytes()).toBe(plaintext.length);
  return Buffer.concat(out);
}

/**
 * Reads plaintext `start`…`end` of a stored envelope the way the adapters do: the header from the
 * first bytes, then whatever spans the object asks for, which are recorded in `fetched`.
 */
async function readRange(
  envelope: Envelope,
  stored: Buffer,
  start: number,
  end: number,
  fetched: [number, number][] = [],
): Promise<{ bytes: Buffer; chunks: Buffer[] }> {
  const object = envelope.openHeader(stored.subarray(0, HEADER_READ_BYTES), stored.length);
  const chunks: Buffer[] = [];
  const fetch = async function* (from: number, to: number) {
    fetched.push([from, to]);
    // Odd-sized pieces, as a network would deliver them.
    for (let at = from; at < to; at += 10_007) yield stored.subarray(at, Math.min(to, at + 10_007));
  };
  for await (const chunk of object.read(start, end, fetch)) chunks.push(chunk);
  return { bytes: Buffer.concat(chunks), chunks };
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

/** Where segment `i` of an envelope with this content type starts. */
const segmentAt = (contentType: string, i: number) => 87 + Buffer.byteLength(contentType) + i * STRIDE;

describe('Envelope', () => {
  const envelope = new Envelope(randomBytes(32));

  it('opens what it sealed, content type included, and adds a header and a tag per 64 KiB segment', () => {
    const plain = Buffer.from('réponse du candidat ✅');
    const sealed = envelope.seal(plain, 'text/plain; charset=utf-8');
    expect(sealed.length).toBe(87 + 25 + plain.length + 16);
    expect(sealed.length).toBe(sealedSize(plain.length, 'text/plain; charset=utf-8'));
    expect(sealed.readUInt8(4)).toBe(2);
    expect(envelope.open(sealed)).toEqual({ bytes: plain, contentType: 'text/plain; charset=utf-8' });
    const big = randomBytes(3 * S + 5);
    expect(envelope.seal(big, 'x').length).toBe(87 + 1 + big.length + 4 * 16);
  });

  it('seals a stream into the same format as seal(), whatever the size around segment boundaries', async () => {
    for (const size of [0, 1, S - 1, S, S + 1, 3 * S, 3 * S + 5]) {
      const plain = randomBytes(size);
      const sealed = await sealByStream(envelope, plain, 'video/webm', 4099);
      expect(sealed.length, `size ${size}`).toBe(sealedSize(size, 'video/webm'));
      expect(envelope.open(sealed).bytes.equals(plain), `size ${size}`).toBe(true);
    }
  });

  it('uses a fresh data key and nonce prefix per object: equal plaintexts give unrelated ciphertexts', () => {
    const plain = Buffer.alloc(64, 7);
    const a = envelope.seal(plain, 'x');
    const b = envelope.seal(plain, 'x');
    expect(a.subarray(13).equals(b.subarray(13))).toBe(false);
    expect(a.subarray(77, 85).equals(b.subarray(77, 85))).toBe(false);
    expect(a.includes(plain.subarray(0, 16))).toBe(false);
  });

  it('round-trips any bytes and content type (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), fc.string({ maxLength: 100 }), (bytes, type) => {
        const opened = envelope.open(envelope.seal(bytes, type));
        expect(opened.bytes.equals(Buffer.from(bytes))).toBe(true);
        expect(opened.contentType).toBe(type);
      }),
    );
  });

  it('refuses any single flipped bit, anywhere in a multi-segment object, with INTEGRITY_CHECK_FAILED (property)', () => {
    const sealed = envelope.seal(randomBytes(2 * S + 300), 'audio/webm');
    fc.assert(
      fc.property(fc.nat({ max: sealed.length * 8 - 1 }), (bit) => {
        const copy = Buffer.from(sealed);
        copy[bit >> 3]! ^= 1 << (bit & 7);
        expect(thrownBy(() => envelope.open(copy))).toMatchObject({ code: 'INTEGRITY_CHECK_FAILED' });
      }),
      { numRuns: 300 },
    );
  });

  it('refuses truncated, extended and foreign bytes', () => {
    const sealed = envelope.seal(Buffer.from('hello'), 'text/plain');
    for (const bad of [
      sealed.subarray(0, sealed.length - 1),
      Buffer.concat([sealed, Buffer.from([0])]),
      Buffer.alloc(0),
      Buffer.from('plain text that is long enough to look like something, really it is'),
    ]) {
      expect(thrownBy(() => envelope.open(bad))).toMatchObject({ code: 'INTEGRITY_CHECK_FAILED' });
    }
  });

  it('refuses an envelope sealed under another master key, naming the key id', () => {
    const other = new Envelope(randomBytes(32));
    expect(() => envelope.open(other.seal(Buffer.from('x'), 'x'))).toThrow(other.keyId);
  });

  it('refuses a content type longer than the header allows', () => {
    expect(thrownBy(() => envelope.seal(Buffer.from('x'), 'a'.repeat(1025)))).toMatchObject({
      code: 'VALIDATION_FAILED',
    });
  });

  it('parses 64-hex master keys and refuses anything else', () => {
    expect(parseMasterKey('ab'.repeat(32)).length).toBe(32);
    expect(() => parseMasterKey('ab'.repeat(31))).toThrow();
    expect(() => parseMasterKey('zz'.repeat(32))).toThrow();
    expect(() => new Envelope(randomBytes(16))).toThrow('32 bytes');
  });
});

describe('Envelope: reading a range', () => {
  const envelope = new Envelope(randomBytes(32));
  const plain = randomBytes(10 * S + 1234);
  const sealed = envelope.seal(plain, 'video/webm');
  const at = (i: number) => segmentAt('video/webm', i);

  it('tells the size and type from the header alone', () => {
    const object = envelope.openHeader(sealed.subarray(0, HEADER_READ_BYTES), sealed.length);
    expect(object).toMatchObject({ size: plain.length, contentType: 'video/webm', randomAccess: true });
  });

  it('returns exactly the bytes of any range (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: plain.length - 1 }), fc.nat({ max: 3 * S }), async (start, length) => {
        const end = Math.min(plain.length - 1, start + length);
        const { bytes } = await readRange(envelope, sealed, start, end);
        expect(bytes.equals(plain.subarray(start, end + 1))).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('fetches the final segment and the segments holding the range, nothing else', async () => {
    const fetched: [number, number][] = [];
    const { bytes } = await readRange(envelope, sealed, 2 * S + 10, 4 * S + 5, fetched);
    expect(bytes.equals(plain.subarray(2 * S + 10, 4 * S + 6))).toBe(true);
    expect(fetched.sort((a, b) => a[0] - b[0])).toEqual([
      [at(2), at(5)],
      [at(10), sealed.length],
    ]);
    const tail: [number, number][] = [];
    await readRange(envelope, sealed, plain.length - 100, plain.length - 1, tail);
    expect(tail).toEqual([[at(10), sealed.length]]);
  });

  it('yields no byte of a segment that fails, and the bytes before it only once they checked', async () => {
    const damaged = Buffer.from(sealed);
    damaged[at(3) + 100]! ^= 1;
    const chunks: Buffer[] = [];
    const object = envelope.openHeader(damaged, damaged.length);
    const err = await rejectionOf(
      (async () => {
        for await (const chunk of object.read(S, 5 * S, async function* (from, to) {
          yield damaged.subarray(from, to);
        }))
          chunks.push(chunk);
      })(),
    );
    expect(err).toMatchObject({ code: 'INTEGRITY_CHECK_FAILED', message: expect.stringContaining('segment 3') });
    expect(Buffer.concat(chunks).equals(plain.subarray(S, 3 * S))).toBe(true);
    // A range that does not touch the damaged segment reads fine: it is never decrypted.
    expect((await readRange(envelope, damaged, 5 * S, 6 * S)).bytes.equals(plain.subarray(5 * S, 6 * S + 1))).toBe(
      true,
    );
  });

  it('refuses segments swapped within an object', async () => {
    const swapped = Buffer.from(sealed);
    sealed.copy(swapped, at(1), at(2), at(3));
    sealed.copy(swapped, at(2), at(1), at(2));
    expect(thrownBy(() => envelope.open(swapped))).toMatchObject({ code: 'INTEGRITY_CHECK_FAILED' });
    expect(await rejectionOf(readRange(envelope, swapped, S, S + 10))).toMatchObject({
      code: 'INTEGRITY_CHECK_FAILED',
    });
  });

  it('refuses a segment taken from another object at the same place', async () => {
    const other = envelope.seal(plain, 'video/webm');
    const mixed = Buffer.from(sealed);
    other.copy(mixed, at(4), at(4), at(5));
    expect(thrownBy(() => envelope.open(mixed))).toMatchObject({ code: 'INTEGRITY_CHECK_FAILED' });
    expect(await rejectionOf(readRange(envelope, mixed, 4 * S, 4 * S))).toMatchObject({
      code: 'INTEGRITY_CHECK_FAILED',
    });
  });

  it('refuses an object cut at a segment boundary, even for a range far from the cut', async () => {
    const cut = sealed.subarray(0, at(10));
    expect(thrownBy(() => envelope.open(cut))).toMatchObject({ code: 'INTEGRITY_CHECK_FAILED' });
    expect(await rejectionOf(readRange(envelope, cut, 0, 99))).toMatchObject({ code: 'INTEGRITY_CHECK_FAILED' });
  });

  it('refuses an object extended by a segment, even for a range far from the end', async () => {
    const extended = Buffer.concat([
      sealed.subarray(0, at(10)),
      sealed.subarray(at(9), at(10)),
      sealed.subarray(at(10)),
    ]);
    expect(thrownBy(() => envelope.open(extended))).toMatchObject({ code: 'INTEGRITY_CHECK_FAILED' });
    expect(await rejectionOf(readRange(envelope, extended, 0, 99))).toMatchObject({ code: 'INTEGRITY_CHECK_FAILED' });
  });

  it('refuses a header with a changed version or segment size before reading any segment', () => {
    for (const offset of [4, 73 + 2]) {
      const changed = Buffer.from(sealed);
      changed[offset]! ^= 1;
      expect(thrownBy(() => envelope.openHeader(changed, changed.length))).toMatchObject({
        code: 'INTEGRITY_CHECK_FAILED',
      });
    }
  });

  it('refuses a range outside the object', async () => {
    for (const [start, end] of [
      [-1, 3],
      [5, 4],
      [0, plain.length],
    ] as const) {
      expect(await rejectionOf(readRange(envelope, sealed, start, end))).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
  });
});

describe('Envelope: objects written before version 2', () => {
  // Written by the version 1 code (git history of envelope.ts) under the key below.
  const FIXTURE_KEY = 'a70391df0c3bf229b0e16b8e7c5dab97e46df3f803e7d8ea84b5674179a330e3';
  const FIXTURE =
    'UEVOVgEN/0QsMZ+w4dGoenlolErFxy9rqvg/vvR9lK9NjVItdPrbDItzRv0HdgbkDg1CYZoOMfkTfQ0Al0w54+ZZF0iairTibWpnlZPoDU7IOrenWgAKdmlkZW8vd2VibUswJE8MObBxJ5Rco+vC0HinaIS+blwogELx9wsET/Cnz7UpchTt/KjzyK0qBAkVaAQOdF9pKxp3LhJ3KkgpKOxN6SSMmTRkPabAtGBcJc8i53FyzkS1qYDhDsU+8ugtk2Iu/Pejpl2oYSu59UmTrcIuhZ960Fqpvxl0W1mV8LM8ceshcZYX9r7uQ02QLkQkRgKkoZG5Sz3LQeKHtyJvAIKAmJiBUpivo6FbXWmhBTTmTRApXO/l+fUwmn67WU0JAWpd0JDdIxHJFme56jVgilOuZ/dyAHbva0nO7CAwog9cqyT4+x/6SKiEmbBiJ9WK/HRw1dHbNmuvnqwWi9ddfRB1bFvEgPagP7KfDLr2AJT6+bnxUU/yWrHZqe3r7iZDJLB5lltWfhGE49f8yK0orXUXHSfQMh29f8POf/A=';
  const FIXTURE_PLAIN = Buffer.from(Array.from({ length: 300 }, (_, i) => `${i % 10}`).join(''));
  const masterKey = parseMasterKey(FIXTURE_KEY);
  const envelope = new Envelope(randomBytes(32), { previousKeys: [masterKey] });

  it('opens an object the version 1 code wrote, whole and by range', async () => {
    const sealed = Buffer.from(FIXTURE, 'base64');
    const opened = envelope.open(sealed);
    expect(opened.contentType).toBe('video/webm');
    expect(createHash('sha256').update(opened.bytes).digest('hex')).toBe(
      createHash('sha256').update(FIXTURE_PLAIN).digest('hex'),
    );
    const object = envelope.openHeader(sealed, sealed.length);
    expect(object).toMatchObject({ size: 300, contentType: 'video/webm', randomAccess: false });
    expect((await readRange(envelope, sealed, 17, 140)).bytes.equals(FIXTURE_PLAIN.subarray(17, 141))).toBe(true);
  });

  it('reads a range of a large version 1 object by decrypting the whole body, keeping only the range', async () => {
    const plain = randomBytes(3 * S + 77);
    const sealed = sealVersion1(masterKey, plain, 'audio/webm');
    expect(envelope.open(sealed).bytes.equals(plain)).toBe(true);
    const fetched: [number, number][] = [];
    const { bytes } = await readRange(envelope, sealed, S, S + 999, fetched);
    expect(bytes.equals(plain.subarray(S, S + 1000))).toBe(true);
    expect(fetched).toEqual([[87 + 'audio/webm'.length, sealed.length]]);
  });

  it('refuses a tampered or cut version 1 object, whole and by range', async () => {
    const sealed = sealVersion1(masterKey, randomBytes(S), 'audio/webm');
    const flipped = Buffer.from(sealed);
    flipped[sealed.length - 100]! ^= 1;
    for (const bad of [flipped, sealed.subarray(0, sealed.length - 1)]) {
      expect(thrownBy(() => envelope.open(bad))).toMatchObject({ code: 'INTEGRITY_CHECK_FAILED' });
      expect(await rejectionOf(readRange(envelope, bad, 0, 10))).toMatchObject({ code: 'INTEGRITY_CHECK_FAILED' });
    }
  });
});

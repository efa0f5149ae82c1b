import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Envelope, envelopeOverhead, parseMasterKey } from './envelope.ts';

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

describe('Envelope', () => {
  const envelope = new Envelope(randomBytes(32));

  it('opens what it sealed, content type included, and adds a fixed overhead', () => {
    const plain = Buffer.from('réponse du candidat ✅');
    const sealed = envelope.seal(plain, 'text/plain; charset=utf-8');
    expect(sealed.length).toBe(plain.length + envelopeOverhead('text/plain; charset=utf-8'));
    expect(envelope.open(sealed)).toEqual({ bytes: plain, contentType: 'text/plain; charset=utf-8' });
  });

  it('seals a stream into the same format as seal()', async () => {
    const plain = randomBytes(10_000);
    const sealed = await sealByStream(envelope, plain, 'video/webm', 333);
    expect(sealed.length).toBe(plain.length + envelopeOverhead('video/webm'));
    expect(envelope.open(sealed).bytes.equals(plain)).toBe(true);
  });

  it('uses a fresh data key and IV per object: equal plaintexts give unrelated ciphertexts', () => {
    const plain = Buffer.alloc(64, 7);
    const a = envelope.seal(plain, 'x');
    const b = envelope.seal(plain, 'x');
    expect(a.subarray(13).equals(b.subarray(13))).toBe(false);
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

  it('refuses any single flipped bit, anywhere, with INTEGRITY_CHECK_FAILED (property)', () => {
    const sealed = envelope.seal(randomBytes(300), 'audio/webm');
    fc.assert(
      fc.property(fc.nat({ max: sealed.length * 8 - 1 }), (bit) => {
        const copy = Buffer.from(sealed);
        copy[bit >> 3]! ^= 1 << (bit & 7);
        expect(thrownBy(() => envelope.open(copy))).toMatchObject({ code: 'INTEGRITY_CHECK_FAILED' });
      }),
      { numRuns: 400 },
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

import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { AppError } from '../../shared/app-error.ts';

/*
 * Envelope encryption for stored objects. Each object gets a fresh 256-bit data key; the data key
 * is wrapped (AES-256-GCM) by the master key; the body is encrypted with AES-256-GCM under the
 * data key. A leaked object never exposes the master key, and a master key can be rotated by
 * re-wrapping data keys only.
 *
 * Layout, version 1 (all integers big-endian):
 *   0   4  magic "PENV"
 *   4   1  version (1)
 *   5   8  master key id (first 8 bytes of SHA-256 over a label and the master key)
 *  13  12  wrap IV
 *  25  32  wrapped data key
 *  57  16  wrap tag
 *  73  12  data IV
 *  85   2  content type length n
 *  87   n  content type (UTF-8)
 *  87+n    ciphertext
 *  end-16  data tag
 * The wrap is authenticated over every header field except the wrapped key and its tag; the
 * body over the whole header. So a changed content type, IV or key id fails like a changed body.
 * The body tag sits at the end so that a stream can be encrypted in one pass.
 */

const MAGIC = Buffer.from('PENV', 'ascii');
const VERSION = 1;
const KEY_ID_BYTES = 8;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const DATA_KEY_BYTES = 32;
const FIXED_HEADER_BYTES = 4 + 1 + KEY_ID_BYTES + IV_BYTES + DATA_KEY_BYTES + TAG_BYTES + IV_BYTES + 2;
/** Longest content type kept in a header, in UTF-8 bytes. */
export const MAX_CONTENT_TYPE_BYTES = 1024;

/** Bytes an envelope adds to an object with this content type. */
export function envelopeOverhead(contentType: string): number {
  return FIXED_HEADER_BYTES + Buffer.byteLength(contentType, 'utf8') + TAG_BYTES;
}

/** Parses a master key given as 64 hex characters (the `STORAGE_MASTER_KEY` format). */
export function parseMasterKey(hex: string): Buffer {
  const trimmed = hex.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(trimmed)) throw new Error('A storage master key must be 64 hex characters (32 bytes)');
  return Buffer.from(trimmed, 'hex');
}

function keyIdOf(masterKey: Uint8Array): Buffer {
  return createHash('sha256')
    .update('parley-storage-master-key-id\0')
    .update(masterKey)
    .digest()
    .subarray(0, KEY_ID_BYTES);
}

export interface OpenedObject {
  bytes: Buffer;
  contentType: string;
}

export interface SealedStream {
  /** Header, ciphertext chunks, then the tag: concatenated, they form one envelope. */
  chunks: AsyncGenerator<Buffer, void, undefined>;
  /** Plaintext bytes read from the source so far (final once `chunks` is exhausted). */
  plaintextBytes(): number;
}

/**
 * Seals and opens envelopes with one active master key; envelopes sealed under previous master
 * keys (passed as `previousKeys`) still open, which is what a key rotation needs.
 */
export class Envelope {
  readonly keyId: string;
  private readonly active: { id: Buffer; key: Buffer };
  private readonly keys = new Map<string, Buffer>();

  constructor(masterKey: Uint8Array, options: { previousKeys?: Uint8Array[] } = {}) {
    for (const key of [masterKey, ...(options.previousKeys ?? [])]) {
      if (key.length !== 32) throw new Error('A storage master key must be 32 bytes');
      const id = keyIdOf(key).toString('hex');
      if (!this.keys.has(id)) this.keys.set(id, Buffer.from(key));
    }
    const id = keyIdOf(masterKey);
    this.keyId = id.toString('hex');
    this.active = { id, key: Buffer.from(masterKey) };
  }

  /** True when the bytes start like an envelope (cheap; says nothing about integrity). */
  static looksSealed(bytes: Uint8Array): boolean {
    return bytes.length >= FIXED_HEADER_BYTES + TAG_BYTES && Buffer.from(bytes.subarray(0, 4)).equals(MAGIC);
  }

  seal(plaintext: Uint8Array, contentType: string): Buffer {
    const { header, dataKey, dataIv } = this.newHeader(contentType);
    const cipher = createCipheriv('aes-256-gcm', dataKey, dataIv);
    cipher.setAAD(header);
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    dataKey.fill(0);
    return Buffer.concat([header, body, cipher.getAuthTag()]);
  }

  /** Encrypts a stream in one pass, holding only the chunk in flight in memory. */
  sealStream(source: AsyncIterable<unknown>, contentType: string): SealedStream {
    const { header, dataKey, dataIv } = this.newHeader(contentType);
    let count = 0;
    async function* chunks(): AsyncGenerator<Buffer, void, undefined> {
      try {
        const cipher = createCipheriv('aes-256-gcm', dataKey, dataIv);
        cipher.setAAD(header);
        yield header;
        for await (const chunk of source) {
          const bytes = toBuffer(chunk);
          count += bytes.length;
          const out = cipher.update(bytes);
          if (out.length > 0) yield out;
        }
        const last = cipher.final();
        if (last.length > 0) yield last;
        yield cipher.getAuthTag();
      } finally {
        dataKey.fill(0);
      }
    }
    return { chunks: chunks(), plaintextBytes: () => count };
  }

  /** Decrypts and verifies; never returns bytes that failed authentication. */
  open(sealed: Uint8Array): OpenedObject {
    const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    if (!Envelope.looksSealed(buf)) throw tampered('it is not an envelope (bad magic or too short)');
    let at = 4;
    const version = buf.readUInt8(at);
    at += 1;
    if (version !== VERSION) throw tampered(`unknown envelope version ${version}`);
    const keyId = buf.subarray(at, (at += KEY_ID_BYTES));
    const wrapIv = buf.subarray(at, (at += IV_BYTES));
    const wrappedKey = buf.subarray(at, (at += DATA_KEY_BYTES));
    const wrapTag = buf.subarray(at, (at += TAG_BYTES));
    const dataIv = buf.subarray(at, (at += IV_BYTES));
    const typeLength = buf.readUInt16BE(at);
    at += 2;
    if (typeLength > MAX_CONTENT_TYPE_BYTES || at + typeLength + TAG_BYTES > buf.length) {
      throw tampered('the header is malformed');
    }
    const typeBytes = buf.subarray(at, (at += typeLength));
    const header = buf.subarray(0, at);
    const masterKey = this.keys.get(keyId.toString('hex'));
    if (!masterKey) throw tampered(`it was sealed with an unknown master key (id ${keyId.toString('hex')})`);

    let dataKey: Buffer;
    try {
      const unwrap = createDecipheriv('aes-256-gcm', masterKey, wrapIv);
      unwrap.setAAD(wrapAad(header));
      unwrap.setAuthTag(wrapTag);
      dataKey = Buffer.concat([unwrap.update(wrappedKey), unwrap.final()]);
    } catch {
      throw tampered('the header failed authentication');
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', dataKey, dataIv);
      decipher.setAAD(header);
      decipher.setAuthTag(buf.subarray(buf.length - TAG_BYTES));
      const plain = decipher.update(buf.subarray(at, buf.length - TAG_BYTES));
      const rest = decipher.final();
      return { bytes: rest.length ? Buffer.concat([plain, rest]) : plain, contentType: typeBytes.toString('utf8') };
    } catch {
      throw tampered('the body failed authentication');
    } finally {
      dataKey.fill(0);
    }
  }

  private newHeader(contentType: string): { header: Buffer; dataKey: Buffer; dataIv: Buffer } {
    const type = Buffer.from(contentType, 'utf8');
    if (type.length > MAX_CONTENT_TYPE_BYTES) {
      throw new AppError('VALIDATION_FAILED', `Content type is longer than ${MAX_CONTENT_TYPE_BYTES} bytes`);
    }
    const dataKey = randomBytes(DATA_KEY_BYTES);
    const dataIv = randomBytes(IV_BYTES);
    const wrapIv = randomBytes(IV_BYTES);
    const header = Buffer.alloc(FIXED_HEADER_BYTES + type.length);
    let at = MAGIC.copy(header, 0);
    at = header.writeUInt8(VERSION, at);
    at += this.active.id.copy(header, at);
    at += wrapIv.copy(header, at);
    const wrappedKeyAt = at;
    at += DATA_KEY_BYTES + TAG_BYTES;
    at += dataIv.copy(header, at);
    at = header.writeUInt16BE(type.length, at);
    type.copy(header, at);

    const wrap = createCipheriv('aes-256-gcm', this.active.key, wrapIv);
    wrap.setAAD(wrapAad(header));
    const wrapped = Buffer.concat([wrap.update(dataKey), wrap.final()]);
    wrapped.copy(header, wrappedKeyAt);
    wrap.getAuthTag().copy(header, wrappedKeyAt + DATA_KEY_BYTES);
    return { header, dataKey, dataIv };
  }
}

/** The header without the wrapped key and its tag (they cannot authenticate themselves). */
function wrapAad(header: Buffer): Buffer {
  const wrappedKeyAt = 4 + 1 + KEY_ID_BYTES + IV_BYTES;
  return Buffer.concat([header.subarray(0, wrappedKeyAt), header.subarray(wrappedKeyAt + DATA_KEY_BYTES + TAG_BYTES)]);
}

export function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw new AppError('VALIDATION_FAILED', 'A stored stream must yield bytes or strings');
}

function tampered(why: string): AppError {
  return new AppError('INTEGRITY_CHECK_FAILED', `Stored object cannot be trusted: ${why}`);
}

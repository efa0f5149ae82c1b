import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { AppError } from '../../shared/app-error.ts';

/*
 * Envelope encryption for stored objects. Each object gets a fresh 256-bit data key; the data key
 * is wrapped (AES-256-GCM) by the master key; the body is encrypted with AES-256-GCM under the
 * data key. A leaked object never exposes the master key, and a master key can be rotated by
 * re-wrapping data keys only.
 *
 * Layout, version 2 — what is written (all integers big-endian):
 *   0   4  magic "PENV"
 *   4   1  version (2)
 *   5   8  master key id (first 8 bytes of SHA-256 over a label and the master key)
 *  13  12  wrap IV
 *  25  32  wrapped data key
 *  57  16  wrap tag
 *  73   4  segment size S: plaintext bytes per segment (64 KiB when written here)
 *  77   8  nonce prefix, random per object
 *  85   2  content type length n
 *  87   n  content type (UTF-8)
 *  87+n    segments 0…m-1: each the ciphertext of S plaintext bytes followed by its 16-byte tag,
 *          but the last, which holds 0…S bytes (0 only when the object is empty)
 * Segment i is sealed under the data key with the nonce `nonce prefix ‖ uint32 i` and the
 * associated data `uint32 i ‖ final`, final being 1 for the last segment and 0 for the others.
 * So any byte range is read by fetching the header and the segments that hold it. A segment moved
 * to another place fails (its index is in the nonce and the associated data); one taken from
 * another object fails (another data key); a cut at a segment boundary leaves a last segment not
 * sealed as final, and one past it has no final segment before it, so both fail. Ranged reads
 * authenticate the final segment before yielding anything (see `SealedObject.read`), so the size
 * they report is the true one.
 *
 * Layout, version 1 — written before ranged reads; still read:
 *   0…73 as in version 2, then
 *  73  12  data IV
 *  85   2  content type length n
 *  87   n  content type (UTF-8)
 *  87+n    ciphertext of the whole body (one AES-256-GCM message, the header as associated data)
 *  end-16  data tag
 * One tag over the whole body: no byte can be trusted before the last one was read, so a range of
 * a version 1 object costs decrypting all of it (only the range is kept).
 *
 * In both versions the wrap is authenticated over every header field except the wrapped key and
 * its tag, so a changed content type, segment size, nonce prefix, IV, version or key id fails
 * like a changed body, and the data key opens only with its own header.
 */

const MAGIC = Buffer.from('PENV', 'ascii');
const VERSION = 2;
const KEY_ID_BYTES = 8;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const DATA_KEY_BYTES = 32;
const WRAPPED_KEY_AT = 4 + 1 + KEY_ID_BYTES + IV_BYTES;
const AFTER_WRAP = WRAPPED_KEY_AT + DATA_KEY_BYTES + TAG_BYTES;
const NONCE_PREFIX_BYTES = 8;
/** Header bytes before the content type: the same in both versions (12 = data IV or S + prefix). */
const FIXED_HEADER_BYTES = AFTER_WRAP + 12 + 2;
/** Plaintext bytes per segment in what is written now. */
export const SEGMENT_BYTES = 64 * 1024;
/** The largest segment size a header may declare (a bound on what one segment costs to read). */
const MAX_SEGMENT_BYTES = 16 * 1024 * 1024;
/** Segment indexes are 32-bit. */
const MAX_SEGMENTS = 2 ** 32;
/** Longest content type kept in a header, in UTF-8 bytes. */
export const MAX_CONTENT_TYPE_BYTES = 1024;
/** Bytes to read from the start of a stored object to hold its whole header, whatever its type. */
export const HEADER_READ_BYTES = FIXED_HEADER_BYTES + MAX_CONTENT_TYPE_BYTES;

/** Stored bytes of an object of `plaintextBytes` with this content type (written format). */
export function sealedSize(plaintextBytes: number, contentType: string): number {
  const segments = Math.max(1, Math.ceil(plaintextBytes / SEGMENT_BYTES));
  return FIXED_HEADER_BYTES + Buffer.byteLength(contentType, 'utf8') + plaintextBytes + segments * TAG_BYTES;
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
  /** Header, then one sealed segment after another: concatenated, they form one envelope. */
  chunks: AsyncGenerator<Buffer, void, undefined>;
  /** Plaintext bytes read from the source so far (final once `chunks` is exhausted). */
  plaintextBytes(): number;
}

/**
 * Reads `to - from` stored bytes starting at `from` (both offsets in the stored object). The
 * adapters provide it: a file read, an S3 `Range` GET.
 */
export type FetchStored = (from: number, to: number) => AsyncIterable<Uint8Array>;

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
    const { header, dataKey, noncePrefix } = this.newHeader(contentType);
    const plain = toBuffer(plaintext);
    try {
      const out = Buffer.allocUnsafe(sealedSize(plain.length, contentType));
      let at = header.copy(out, 0);
      const last = Math.max(0, Math.ceil(plain.length / SEGMENT_BYTES) - 1);
      for (let i = 0; i <= last; i++) {
        const part = plain.subarray(i * SEGMENT_BYTES, (i + 1) * SEGMENT_BYTES);
        at += sealSegment(dataKey, noncePrefix, i, i === last, part).copy(out, at);
      }
      return out;
    } finally {
      dataKey.fill(0);
    }
  }

  /**
   * Encrypts a stream in one pass, holding at most one segment and the chunk in flight: a full
   * segment is sealed as soon as a byte after it arrives (so it is known not to be the last).
   */
  sealStream(source: AsyncIterable<unknown>, contentType: string): SealedStream {
    const { header, dataKey, noncePrefix } = this.newHeader(contentType);
    let count = 0;
    async function* chunks(): AsyncGenerator<Buffer, void, undefined> {
      try {
        yield header;
        let pending: Buffer[] = [];
        let pendingBytes = 0;
        let index = 0;
        for await (const chunk of source) {
          const bytes = toBuffer(chunk);
          count += bytes.length;
          pending.push(bytes);
          pendingBytes += bytes.length;
          if (pendingBytes <= SEGMENT_BYTES) continue;
          let joined = Buffer.concat(pending, pendingBytes);
          while (joined.length > SEGMENT_BYTES) {
            if (index + 1 >= MAX_SEGMENTS) throw new AppError('PAYLOAD_TOO_LARGE', 'The object has too many segments');
            yield sealSegment(dataKey, noncePrefix, index++, false, joined.subarray(0, SEGMENT_BYTES));
            joined = joined.subarray(SEGMENT_BYTES);
          }
          pending = [joined];
          pendingBytes = joined.length;
        }
        yield sealSegment(dataKey, noncePrefix, index, true, Buffer.concat(pending, pendingBytes));
      } finally {
        dataKey.fill(0);
      }
    }
    return { chunks: chunks(), plaintextBytes: () => count };
  }

  /** Decrypts and verifies a whole envelope (either version); never returns unauthenticated bytes. */
  open(sealed: Uint8Array): OpenedObject {
    const buf = toBuffer(sealed);
    const object = this.openHeader(buf, buf.length);
    return { bytes: object.openWhole(buf), contentType: object.contentType };
  }

  /**
   * Reads an object's header from its first bytes — at least `HEADER_READ_BYTES` of them, or all
   * of a shorter object — and its stored size, and authenticates it. The result tells the
   * plaintext size and type and reads any range of the object.
   */
  openHeader(head: Uint8Array, storedSize: number): SealedObject {
    const buf = toBuffer(head);
    if (buf.length < Math.min(HEADER_READ_BYTES, storedSize)) {
      throw new Error(`openHeader needs the first ${HEADER_READ_BYTES} bytes of the object (or all of it)`);
    }
    const header = parseHeader(buf, storedSize);
    const masterKey = this.keys.get(header.keyId.toString('hex'));
    if (!masterKey) throw tampered(`it was sealed with an unknown master key (id ${header.keyId.toString('hex')})`);
    // Unwrapping authenticates the header (type, size fields); the data key is unwrapped again,
    // and wiped, each time bytes are read, rather than kept while a caller holds the object.
    unwrapDataKey(masterKey, header).fill(0);
    return new SealedObject(header, masterKey, storedSize);
  }

  private newHeader(contentType: string): { header: Buffer; dataKey: Buffer; noncePrefix: Buffer } {
    const type = Buffer.from(contentType, 'utf8');
    if (type.length > MAX_CONTENT_TYPE_BYTES) {
      throw new AppError('VALIDATION_FAILED', `Content type is longer than ${MAX_CONTENT_TYPE_BYTES} bytes`);
    }
    const dataKey = randomBytes(DATA_KEY_BYTES);
    const noncePrefix = randomBytes(NONCE_PREFIX_BYTES);
    const wrapIv = randomBytes(IV_BYTES);
    const header = Buffer.alloc(FIXED_HEADER_BYTES + type.length);
    let at = MAGIC.copy(header, 0);
    at = header.writeUInt8(VERSION, at);
    at += this.active.id.copy(header, at);
    at += wrapIv.copy(header, at);
    at += DATA_KEY_BYTES + TAG_BYTES;
    at = header.writeUInt32BE(SEGMENT_BYTES, at);
    at += noncePrefix.copy(header, at);
    at = header.writeUInt16BE(type.length, at);
    type.copy(header, at);

    const wrap = createCipheriv('aes-256-gcm', this.active.key, wrapIv);
    wrap.setAAD(wrapAad(header));
    const wrapped = Buffer.concat([wrap.update(dataKey), wrap.final()]);
    wrapped.copy(header, WRAPPED_KEY_AT);
    wrap.getAuthTag().copy(header, WRAPPED_KEY_AT + DATA_KEY_BYTES);
    return { header, dataKey, noncePrefix };
  }
}

interface Header {
  version: 1 | 2;
  /** The whole header, content type included (a copy). */
  bytes: Buffer;
  keyId: Buffer;
  wrapIv: Buffer;
  wrappedKey: Buffer;
  wrapTag: Buffer;
  contentType: string;
  /** Version 1: the IV of the one body message. */
  dataIv: Buffer;
  /** Version 2. */
  segmentBytes: number;
  noncePrefix: Buffer;
}

function parseHeader(buf: Buffer, storedSize: number): Header {
  if (
    buf.length < FIXED_HEADER_BYTES ||
    storedSize < FIXED_HEADER_BYTES + TAG_BYTES ||
    !buf.subarray(0, 4).equals(MAGIC)
  ) {
    throw tampered('it is not an envelope (bad magic or too short)');
  }
  const version = buf.readUInt8(4);
  if (version !== 1 && version !== 2) throw tampered(`unknown envelope version ${version}`);
  const typeLength = buf.readUInt16BE(FIXED_HEADER_BYTES - 2);
  const length = FIXED_HEADER_BYTES + typeLength;
  if (typeLength > MAX_CONTENT_TYPE_BYTES || length + TAG_BYTES > storedSize) throw tampered('the header is malformed');
  const bytes = Buffer.from(buf.subarray(0, length));
  const header: Header = {
    version,
    bytes,
    keyId: bytes.subarray(5, 5 + KEY_ID_BYTES),
    wrapIv: bytes.subarray(5 + KEY_ID_BYTES, WRAPPED_KEY_AT),
    wrappedKey: bytes.subarray(WRAPPED_KEY_AT, WRAPPED_KEY_AT + DATA_KEY_BYTES),
    wrapTag: bytes.subarray(WRAPPED_KEY_AT + DATA_KEY_BYTES, AFTER_WRAP),
    contentType: bytes.subarray(FIXED_HEADER_BYTES).toString('utf8'),
    dataIv: bytes.subarray(AFTER_WRAP, AFTER_WRAP + IV_BYTES),
    segmentBytes: bytes.readUInt32BE(AFTER_WRAP),
    noncePrefix: bytes.subarray(AFTER_WRAP + 4, AFTER_WRAP + 4 + NONCE_PREFIX_BYTES),
  };
  if (version === 2) {
    const segmentBytes = header.segmentBytes;
    if (segmentBytes < 1 || segmentBytes > MAX_SEGMENT_BYTES) throw tampered('the header is malformed');
    const stride = segmentBytes + TAG_BYTES;
    const count = Math.ceil((storedSize - length) / stride);
    const lastStored = storedSize - length - (count - 1) * stride;
    if (lastStored < TAG_BYTES || count > MAX_SEGMENTS) throw tampered('it ends inside a segment tag');
  }
  return header;
}

/**
 * A stored envelope whose header was read and authenticated: its plaintext size and content type,
 * and reads of any part of it through the adapter's `FetchStored`.
 */
export class SealedObject {
  readonly contentType: string;
  /** Plaintext bytes of the whole object. */
  readonly size: number;
  /** Version 2: a range costs its segments. Version 1: a range costs decrypting the whole body. */
  readonly randomAccess: boolean;
  private readonly segments: number;

  /** Made by `Envelope.openHeader`, which parsed and authenticated the header. */
  constructor(
    private readonly header: Header,
    private readonly masterKey: Buffer,
    /** Bytes of the stored object. */
    readonly storedSize: number,
  ) {
    this.contentType = header.contentType;
    this.randomAccess = header.version === 2;
    const body = storedSize - header.bytes.length;
    this.segments = header.version === 2 ? Math.ceil(body / (header.segmentBytes + TAG_BYTES)) : 1;
    this.size = body - this.segments * TAG_BYTES;
  }

  /**
   * The plaintext bytes `start`…`end` (inclusive), yielded only once authenticated. Version 2:
   * fetches and authenticates the final segment first — proving the object was not cut or
   * extended, so `size` is true — then the segments holding the range, one at a time (the two
   * fetches run at once). Version 1: fetches the whole body, keeps the range, yields it once the
   * tag at the end checks.
   */
  async *read(start: number, end: number, fetch: FetchStored): AsyncGenerator<Buffer, void, undefined> {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || start > end || end >= this.size) {
      throw new AppError('VALIDATION_FAILED', `Bytes ${start}-${end} are not inside an object of ${this.size} bytes`);
    }
    const dataKey = unwrapDataKey(this.masterKey, this.header);
    try {
      if (this.header.version === 1) yield await this.readVersion1(dataKey, start, end, fetch);
      else yield* this.readSegments(dataKey, start, end, fetch);
    } finally {
      dataKey.fill(0);
    }
  }

  /** The whole plaintext from the whole stored object (which `open` has in memory). */
  openWhole(stored: Buffer): Buffer {
    if (stored.length !== this.storedSize) throw new Error('openWhole needs the whole stored object');
    const dataKey = unwrapDataKey(this.masterKey, this.header);
    try {
      if (this.header.version === 1) {
        const body = stored.subarray(this.header.bytes.length);
        return openVersion1(dataKey, this.header, body.subarray(0, -TAG_BYTES), body.subarray(-TAG_BYTES));
      }
      const out = Buffer.allocUnsafe(this.size);
      for (let i = 0; i < this.segments; i++) {
        const [from, to] = this.storedSpan(i);
        openSegment(dataKey, this.header.noncePrefix, i, i === this.segments - 1, stored.subarray(from, to)).copy(
          out,
          i * this.header.segmentBytes,
        );
      }
      return out;
    } finally {
      dataKey.fill(0);
    }
  }

  private async *readSegments(
    dataKey: Buffer,
    start: number,
    end: number,
    fetch: FetchStored,
  ): AsyncGenerator<Buffer, void, undefined> {
    const s = this.header.segmentBytes;
    const final = this.segments - 1;
    const first = Math.floor(start / s);
    const last = Math.min(Math.floor(end / s), final);
    // The segments before the final one come from one fetch, started now so that it runs while
    // the final segment is fetched and checked.
    const middleEnd = Math.min(last, final - 1);
    const middle = middleEnd >= first ? fetch(this.storedSpan(first)[0], this.storedSpan(middleEnd)[1]) : undefined;
    const chunks = middle?.[Symbol.asyncIterator]();
    const ahead = chunks?.next();
    ahead?.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
    try {
      const finalPlain = openSegment(
        dataKey,
        this.header.noncePrefix,
        final,
        true,
        await collect(fetch(...this.storedSpan(final))),
      );
      const cut = (index: number, plain: Buffer): Buffer =>
        plain.subarray(Math.max(0, start - index * s), Math.min(plain.length, end - index * s + 1));
      if (chunks && ahead) {
        let index = first;
        let pending: Buffer[] = [];
        let pendingBytes = 0;
        for (let next = await ahead; !next.done; next = await chunks.next()) {
          pending.push(toBuffer(next.value));
          pendingBytes += next.value.length;
          let [from, to] = this.storedSpan(index);
          if (pendingBytes < to - from) continue;
          let joined = Buffer.concat(pending, pendingBytes);
          while (index <= middleEnd && joined.length >= to - from) {
            const plain = openSegment(dataKey, this.header.noncePrefix, index, false, joined.subarray(0, to - from));
            yield cut(index, plain);
            joined = joined.subarray(to - from);
            [from, to] = this.storedSpan(++index);
          }
          pending = joined.length > 0 ? [joined] : [];
          pendingBytes = joined.length;
        }
        if (index <= middleEnd) throw tampered('it is shorter than its header and final segment say');
      }
      if (last === final) yield cut(final, finalPlain);
    } finally {
      // Not awaited: a fetch still waiting for its first bytes finishes (and closes) on its own.
      chunks?.return?.().catch(() => undefined);
    }
  }

  private async readVersion1(dataKey: Buffer, start: number, end: number, fetch: FetchStored): Promise<Buffer> {
    const decipher = createDecipheriv('aes-256-gcm', dataKey, this.header.dataIv);
    decipher.setAAD(this.header.bytes);
    const out = Buffer.allocUnsafe(end - start + 1);
    let plainAt = 0;
    let tail = Buffer.alloc(0); // the last bytes seen, which may be the tag
    const keep = (plain: Buffer) => {
      const from = Math.max(start, plainAt);
      const to = Math.min(end + 1, plainAt + plain.length);
      if (from < to) plain.copy(out, from - start, from - plainAt, to - plainAt);
      plainAt += plain.length;
    };
    let received = 0;
    for await (const chunk of fetch(this.header.bytes.length, this.storedSize)) {
      received += chunk.length;
      const bytes = tail.length > 0 ? Buffer.concat([tail, chunk]) : toBuffer(chunk);
      const body = Math.max(0, bytes.length - TAG_BYTES);
      keep(decipher.update(bytes.subarray(0, body)));
      tail = Buffer.from(bytes.subarray(body));
    }
    if (received !== this.storedSize - this.header.bytes.length) throw tampered('it is shorter than it was');
    try {
      decipher.setAuthTag(tail);
      keep(decipher.final());
    } catch {
      throw tampered('the body failed authentication');
    }
    return out;
  }

  /** Where segment `index` lies in the stored object: [from, to). */
  private storedSpan(index: number): [number, number] {
    const stride = this.header.segmentBytes + TAG_BYTES;
    const from = this.header.bytes.length + index * stride;
    return [from, Math.min(from + stride, this.storedSize)];
  }
}

function sealSegment(dataKey: Buffer, noncePrefix: Buffer, index: number, final: boolean, plain: Buffer): Buffer {
  const cipher = createCipheriv('aes-256-gcm', dataKey, segmentNonce(noncePrefix, index));
  cipher.setAAD(segmentAad(index, final));
  const body = cipher.update(plain);
  const rest = cipher.final();
  return Buffer.concat([body, rest, cipher.getAuthTag()]);
}

function openSegment(dataKey: Buffer, noncePrefix: Buffer, index: number, final: boolean, stored: Buffer): Buffer {
  try {
    const decipher = createDecipheriv('aes-256-gcm', dataKey, segmentNonce(noncePrefix, index));
    decipher.setAAD(segmentAad(index, final));
    decipher.setAuthTag(stored.subarray(stored.length - TAG_BYTES));
    const plain = decipher.update(stored.subarray(0, stored.length - TAG_BYTES));
    const rest = decipher.final();
    return rest.length > 0 ? Buffer.concat([plain, rest]) : plain;
  } catch {
    throw tampered(`segment ${index} failed authentication`);
  }
}

function segmentNonce(prefix: Buffer, index: number): Buffer {
  const nonce = Buffer.allocUnsafe(IV_BYTES);
  prefix.copy(nonce, 0);
  nonce.writeUInt32BE(index, NONCE_PREFIX_BYTES);
  return nonce;
}

function segmentAad(index: number, final: boolean): Buffer {
  const aad = Buffer.allocUnsafe(5);
  aad.writeUInt32BE(index, 0);
  aad.writeUInt8(final ? 1 : 0, 4);
  return aad;
}

function openVersion1(dataKey: Buffer, header: Header, ciphertext: Buffer, tag: Buffer): Buffer {
  try {
    const decipher = createDecipheriv('aes-256-gcm', dataKey, header.dataIv);
    decipher.setAAD(header.bytes);
    decipher.setAuthTag(tag);
    const plain = decipher.update(ciphertext);
    const rest = decipher.final();
    return rest.length ? Buffer.concat([plain, rest]) : plain;
  } catch {
    throw tampered('the body failed authentication');
  }
}

function unwrapDataKey(masterKey: Buffer, header: Header): Buffer {
  try {
    const unwrap = createDecipheriv('aes-256-gcm', masterKey, header.wrapIv);
    unwrap.setAAD(wrapAad(header.bytes));
    unwrap.setAuthTag(header.wrapTag);
    return Buffer.concat([unwrap.update(header.wrappedKey), unwrap.final()]);
  } catch {
    throw tampered('the header failed authentication');
  }
}

/** The header without the wrapped key and its tag (they cannot authenticate themselves). */
function wrapAad(header: Buffer): Buffer {
  return Buffer.concat([header.subarray(0, WRAPPED_KEY_AT), header.subarray(AFTER_WRAP)]);
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of source) parts.push(toBuffer(chunk));
  return Buffer.concat(parts);
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

import type { Readable } from 'node:stream';

/**
 * Object storage for media (recordings, frames, reports). Keys are validated by `assertValidKey`.
 * Implementations: local disk with AES-256-GCM envelope encryption (embedded default) and
 * S3-compatible servers. Both pass `storage.contract.ts`.
 */
export interface Storage {
  put(key: string, bytes: Uint8Array, contentType: string): Promise<void>;
  /** Streams a large object in (recordings); the object appears only when complete. */
  putStream(key: string, body: Readable, contentType: string): Promise<{ size: number }>;
  /** Throws `AppError('NOT_FOUND')` when missing, `AppError('INTEGRITY_CHECK_FAILED')` when tampered. */
  get(key: string): Promise<StoredObject>;
  /**
   * Part of an object, read without the rest (a `<video>` seeking through a recording). `pick`
   * gets the object's size and chooses the bytes wanted, or none (then only the size and type
   * are read). Only the encrypted segments holding them are fetched and decrypted, and only once
   * `body` is read: a caller that ends up not sending it may drop it unread.
   *
   * Throws like `get` when the object is missing or its header was tampered with. A part that
   * fails authentication errors `body` with `INTEGRITY_CHECK_FAILED` before any of its bytes are
   * yielded, and `body` errors with `CONFLICT` when the object was replaced after this call.
   * Objects written before envelope version 2 are decrypted whole to serve any range (only the
   * range is kept); plaintext objects on S3 (no master key) are read with a `Range` GET.
   */
  getRange(key: string, pick: RangePicker): Promise<StoredRange>;
  exists(key: string): Promise<boolean>;
  /** Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Every key under a prefix, in lexical order. */
  list(prefix: string): Promise<string[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface StoredObject {
  bytes: Uint8Array;
  contentType: string;
}

/** Bytes `start`…`end` (both inclusive, within an object of `size` bytes), or none. */
export type RangePicker = (size: number) => ByteSpan | undefined;

export interface ByteSpan {
  start: number;
  end: number;
}

export interface StoredRange {
  /** Bytes in the whole object. */
  size: number;
  contentType: string;
  /** What `pick` chose. */
  span: ByteSpan | undefined;
  /** The bytes of `span` (none without one), fetched and decrypted as they are read. */
  body: Readable;
}

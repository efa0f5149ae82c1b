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

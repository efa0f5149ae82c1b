import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Readable } from 'node:stream';
import { AppError, isAppError } from '../../shared/app-error.ts';
import { Envelope, HEADER_READ_BYTES, toBuffer, type FetchStored } from './envelope.ts';
import { assertValidKey, assertValidPrefix } from './keys.ts';
import { lazyBody, pickSpan } from './ranges.ts';
import type { RangePicker, Storage, StoredObject, StoredRange } from './storage.ts';

/** S3's smallest part (every part but the last). */
const MIN_PART_SIZE = 5 * 1024 * 1024;
const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
/** SigV4 presigned URLs live at most 7 days. */
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;
/** Object metadata marking a client-side envelope (x-amz-meta-parley-envelope). */
const ENVELOPE_META = 'parley-envelope';
const ENVELOPE_CONTENT_TYPE = 'application/octet-stream';

export interface S3StorageOptions {
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
  /** When set, objects are envelope-encrypted before upload (client-side encryption). */
  masterKey?: Uint8Array;
  previousMasterKeys?: Uint8Array[];
  /** Multipart part size for `putStream`, at least 5 MiB; also the most `putStream` buffers. */
  partSize?: number;
}

/** Connects, creates the bucket if it is missing, and returns the storage. */
export async function createS3Storage(options: S3StorageOptions): Promise<S3Storage> {
  const storage = new S3Storage(options);
  try {
    await storage.ensureBucket();
  } catch (err) {
    await storage.close();
    throw err;
  }
  return storage;
}

/**
 * Any S3-compatible server (tested against OpenStack Swift's s3api). The server encrypts at rest;
 * with a master key, objects are also sealed here, so the server never holds plaintext.
 */
export class S3Storage implements Storage {
  readonly bucket: string;
  private readonly client: S3Client;
  private readonly envelope: Envelope | undefined;
  private readonly partSize: number;

  constructor(options: S3StorageOptions) {
    this.bucket = options.bucket;
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
    if (this.partSize < MIN_PART_SIZE) throw new Error(`S3 part size must be at least ${MIN_PART_SIZE} bytes`);
    this.envelope = options.masterKey
      ? new Envelope(options.masterKey, { previousKeys: options.previousMasterKeys })
      : undefined;
    this.client = new S3Client({
      endpoint: options.endpoint,
      region: options.region,
      credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
      forcePathStyle: options.forcePathStyle,
      // Non-AWS servers reject (Swift) or mangle the default CRC32 trailers of newer SDKs.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 120_000 },
      maxAttempts: 3,
    });
  }

  /** True when objects are sealed before upload; presigned URLs are then unavailable. */
  get clientSideEncryption(): boolean {
    return this.envelope !== undefined;
  }

  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (err) {
      if (statusOf(err) !== 404) throw mapError(err, `bucket ${this.bucket}`);
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      // Another instance created it first.
      if (nameOf(err) === 'BucketAlreadyOwnedByYou' || nameOf(err) === 'BucketAlreadyExists') return;
      throw mapError(err, `bucket ${this.bucket}`);
    }
  }

  async put(key: string, bytes: Uint8Array, contentType: string): Promise<void> {
    assertValidKey(key);
    const body = this.envelope ? this.envelope.seal(bytes, contentType) : bytes;
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ...this.typeOf(contentType) }),
      );
    } catch (err) {
      throw mapError(err, key);
    }
  }

  /**
   * Streams in with a multipart upload, holding one part in memory; a stream shorter than one
   * part is a single PUT. The object appears only on completion; on failure the upload is
   * aborted so no parts linger.
   */
  async putStream(key: string, body: Readable, contentType: string): Promise<{ size: number }> {
    assertValidKey(key);
    let plain = 0;
    const source = readSource(body);
    const sealed = this.envelope?.sealStream(source, contentType);
    const chunks: AsyncIterable<Buffer> =
      sealed?.chunks ??
      (async function* () {
        for await (const chunk of source) {
          const bytes = toBuffer(chunk);
          plain += bytes.length;
          yield bytes;
        }
      })();

    let uploadId: string | undefined;
    const parts: { ETag: string; PartNumber: number }[] = [];
    const uploadPart = async (bytes: Buffer): Promise<void> => {
      uploadId ??= await this.createUpload(key, contentType);
      const PartNumber = parts.length + 1;
      const { ETag } = await this.client.send(
        new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber, Body: bytes }),
      );
      if (!ETag) throw new AppError('UPSTREAM_FAILED', `S3 returned no ETag for part ${PartNumber} of "${key}"`);
      parts.push({ ETag, PartNumber });
    };

    try {
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      for await (const chunk of chunks) {
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= this.partSize) {
          // Cut exact parts, so one huge chunk from the source still goes up part by part.
          let joined = Buffer.concat(pending, pendingBytes);
          while (joined.length >= this.partSize) {
            await uploadPart(joined.subarray(0, this.partSize));
            joined = joined.subarray(this.partSize);
          }
          pending = joined.length > 0 ? [Buffer.from(joined)] : [];
          pendingBytes = joined.length;
        }
      }
      const rest = Buffer.concat(pending, pendingBytes);
      if (uploadId === undefined) {
        await this.client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: rest, ...this.typeOf(contentType) }),
        );
      } else {
        if (rest.length > 0) await uploadPart(rest);
        await this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
          }),
        );
      }
    } catch (err) {
      if (uploadId !== undefined) {
        await this.client
          .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }))
          .catch(() => undefined); // the original failure is the one worth reporting
      }
      // The caller's stream failed, not S3: hand back the caller's error.
      if (err instanceof SourceStreamError) throw err.cause;
      throw mapError(err, key);
    }
    return { size: sealed ? sealed.plaintextBytes() : plain };
  }

  async get(key: string): Promise<StoredObject> {
    assertValidKey(key);
    let raw: Uint8Array;
    let storedType: string;
    let sealedMark: boolean;
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      raw = out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
      storedType = out.ContentType ?? ENVELOPE_CONTENT_TYPE;
      sealedMark = out.Metadata?.[ENVELOPE_META] === '1';
    } catch (err) {
      throw mapError(err, key);
    }
    if (this.envelope) {
      // Sealed or refused: accepting a clear object here would let anyone with bucket write
      // access plant content past the integrity check.
      const { bytes, contentType } = this.envelope.open(raw);
      return { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), contentType };
    }
    if (sealedMark) {
      throw new AppError('INTEGRITY_CHECK_FAILED', `"${key}" is encrypted client-side but no master key is configured`);
    }
    return { bytes: raw, contentType: storedType };
  }

  /**
   * Sealed objects: one `Range` GET for the header (which also tells the stored size), then, when
   * the body is read, `Range` GETs of the final segment and of the segments holding the range, at
   * once. Every GET after the first carries `If-Match` with the first one's ETag, so a range is
   * never cut from a newer object than the header it is decrypted with.
   */
  async getRange(key: string, pick: RangePicker): Promise<StoredRange> {
    assertValidKey(key);
    if (!this.envelope) return this.getPlainRange(key, pick);
    let head: Buffer;
    let storedSize: number;
    let etag: string | undefined;
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=0-${HEADER_READ_BYTES - 1}` }),
      );
      head = Buffer.from(out.Body ? await out.Body.transformToByteArray() : new Uint8Array());
      storedSize = out.ContentRange ? totalOf(out.ContentRange) : head.length;
      etag = out.ETag;
    } catch (err) {
      // An empty object has no byte 0 to answer; an empty object is no envelope either.
      if (statusOf(err) === 416) throw new AppError('INTEGRITY_CHECK_FAILED', `"${key}" is empty, not an envelope`);
      throw mapError(err, key);
    }
    const object = this.envelope.openHeader(head, storedSize);
    const span = pickSpan(pick, object.size);
    const fetch: FetchStored = (from, to) =>
      to <= head.length ? once(head.subarray(from, to)) : this.fetchSpan(key, etag, from, to);
    return {
      size: object.size,
      contentType: object.contentType,
      span,
      body: lazyBody(span && (() => object.read(span.start, span.end, fetch))),
    };
  }

  async exists(key: string): Promise<boolean> {
    assertValidKey(key);
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (err) {
      if (statusOf(err) === 404 && nameOf(err) !== 'NoSuchBucket') return false;
      throw mapError(err, key);
    }
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (nameOf(err) === 'NoSuchKey') return;
      throw mapError(err, key);
    }
  }

  async list(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    const keys: string[] = [];
    let token: string | undefined;
    try {
      do {
        const out = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix || undefined, ContinuationToken: token }),
        );
        for (const o of out.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw mapError(err, `prefix "${prefix}"`);
    }
    return keys.sort();
  }

  async ping(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      const mapped = mapError(err, `bucket ${this.bucket}`);
      throw mapped.code === 'NOT_FOUND'
        ? new AppError('SERVICE_UNAVAILABLE', `Bucket ${this.bucket} is missing`)
        : mapped;
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  /**
   * A URL a browser can PUT the object to directly, sending exactly this Content-Type (it is
   * part of the signature). Unavailable with client-side encryption: the browser would upload
   * plaintext the server could not read back.
   */
  async presignPut(key: string, contentType: string, expiresSeconds: number): Promise<string> {
    this.assertPresignable(key, expiresSeconds);
    return getSignedUrl(
      this.client,
      new PutObjectCommand({ Bucket: this.bucket, Key: key, ContentType: contentType }),
      { expiresIn: expiresSeconds, signableHeaders: new Set(['content-type']) },
    );
  }

  /** A URL that GETs the object until it expires (same restriction as `presignPut`). */
  async presignGet(key: string, expiresSeconds: number): Promise<string> {
    this.assertPresignable(key, expiresSeconds);
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
      expiresIn: expiresSeconds,
    });
  }

  private assertPresignable(key: string, expiresSeconds: number): void {
    assertValidKey(key);
    if (this.envelope) {
      throw new AppError('INTERNAL', 'Presigned URLs are unavailable when client-side encryption (a master key) is on');
    }
    if (!Number.isInteger(expiresSeconds) || expiresSeconds < 1 || expiresSeconds > MAX_PRESIGN_SECONDS) {
      throw new AppError('VALIDATION_FAILED', `Presigned URL lifetime must be 1..${MAX_PRESIGN_SECONDS} seconds`);
    }
  }

  /** Objects stored in clear (no master key): a HEAD for the size and type, a `Range` GET for the bytes. */
  private async getPlainRange(key: string, pick: RangePicker): Promise<StoredRange> {
    let size: number;
    let contentType: string;
    let etag: string | undefined;
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      if (out.Metadata?.[ENVELOPE_META] === '1') {
        throw new AppError(
          'INTEGRITY_CHECK_FAILED',
          `"${key}" is encrypted client-side but no master key is configured`,
        );
      }
      size = out.ContentLength ?? 0;
      contentType = out.ContentType ?? ENVELOPE_CONTENT_TYPE;
      etag = out.ETag;
    } catch (err) {
      throw mapError(err, key);
    }
    const span = pickSpan(pick, size);
    return {
      size,
      contentType,
      span,
      body: lazyBody(span && (() => this.fetchSpan(key, etag, span.start, span.end + 1))),
    };
  }

  /** Stored bytes [from, to) of the object whose ETag was `etag`, streamed. */
  private async *fetchSpan(
    key: string,
    etag: string | undefined,
    from: number,
    to: number,
  ): AsyncGenerator<Uint8Array, void, undefined> {
    let body;
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${from}-${to - 1}`, IfMatch: etag }),
      );
      if (!out.ContentRange?.startsWith(`bytes ${from}-`)) {
        if (out.Body instanceof Readable) out.Body.destroy(); // it may be the whole object: do not drain it
        throw new AppError('UPSTREAM_FAILED', `S3 ignored the byte range asked of "${key}"`);
      }
      body = out.Body;
    } catch (err) {
      if (statusOf(err) === 412 || (statusOf(err) === 404 && nameOf(err) !== 'NoSuchBucket')) {
        throw new AppError('CONFLICT', `The stored object at "${key}" was replaced or deleted while it was read`);
      }
      throw mapError(err, key);
    }
    if (!body) return;
    if (!(body instanceof Readable)) {
      yield await body.transformToByteArray();
      return;
    }
    try {
      for await (const chunk of body as AsyncIterable<Uint8Array>) yield chunk;
    } catch (err) {
      throw mapError(err, key);
    } finally {
      body.destroy();
    }
  }

  private async createUpload(key: string, contentType: string): Promise<string> {
    const { UploadId } = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ...this.typeOf(contentType) }),
    );
    if (!UploadId) throw new AppError('UPSTREAM_FAILED', `S3 returned no upload id for "${key}"`);
    return UploadId;
  }

  /** Content type and metadata as stored on the server. */
  private typeOf(contentType: string): { ContentType: string; Metadata?: Record<string, string> } {
    return this.envelope
      ? { ContentType: ENVELOPE_CONTENT_TYPE, Metadata: { [ENVELOPE_META]: '1' } }
      : { ContentType: contentType };
  }
}

class SourceStreamError extends Error {
  constructor(override readonly cause: unknown) {
    super('the source stream failed');
  }
}

async function* readSource(body: AsyncIterable<unknown>): AsyncGenerator<unknown, void, undefined> {
  try {
    for await (const chunk of body) yield chunk;
  } catch (err) {
    throw new SourceStreamError(err);
  }
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array, void, undefined> {
  yield bytes;
}

/** The complete length in a `Content-Range: bytes a-b/total` response header. */
function totalOf(contentRange: string): number {
  const total = Number(/\/(\d+)$/.exec(contentRange)?.[1]);
  if (!Number.isSafeInteger(total))
    throw new AppError('UPSTREAM_FAILED', `S3 sent an unreadable Content-Range: ${contentRange}`);
  return total;
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function nameOf(err: unknown): string | undefined {
  return (err as { name?: string } | undefined)?.name;
}

/** S3 and network failures as coded errors; SDK types stay in this file. */
function mapError(err: unknown, what: string): AppError {
  if (isAppError(err)) return err;
  const status = statusOf(err);
  const name = nameOf(err) ?? 'Error';
  const message = err instanceof Error ? err.message : String(err);
  if (name === 'NoSuchBucket') return new AppError('SERVICE_UNAVAILABLE', `S3 bucket for ${what} is missing`);
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) {
    return new AppError('NOT_FOUND', `No stored object at "${what}"`);
  }
  if (status === undefined || status >= 500 || status === 429) {
    return new AppError('SERVICE_UNAVAILABLE', `S3 is unavailable (${what}): ${name}: ${message}`, { status });
  }
  return new AppError('UPSTREAM_FAILED', `S3 refused a request (${what}): ${name}: ${message}`, { status });
}

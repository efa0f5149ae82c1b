import {
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  AbortMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REAL, realService } from '../../shared/testing/real-services.ts';
import { HEADER_READ_BYTES, SEGMENT_BYTES } from './envelope.ts';
import { createStorage } from './index.ts';
import { createS3Storage, S3Storage, type S3StorageOptions } from './s3-storage.ts';
import { runStorageContract } from './storage.contract.ts';

// A bucket per suite and run; every suite empties and removes its bucket at the end.
const runId = randomUUID().slice(0, 8);
const options = (bucket: string, extra: Partial<S3StorageOptions> = {}): S3StorageOptions => ({
  endpoint: REAL.s3.endpoint,
  region: REAL.s3.region,
  accessKeyId: REAL.s3.accessKeyId,
  secretAccessKey: REAL.s3.secretAccessKey,
  forcePathStyle: true,
  bucket,
  partSize: 5 * 1024 * 1024,
  ...extra,
});

const raw = new S3Client({
  endpoint: REAL.s3.endpoint,
  region: REAL.s3.region,
  credentials: { accessKeyId: REAL.s3.accessKeyId, secretAccessKey: REAL.s3.secretAccessKey },
  forcePathStyle: true,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});
afterAll(() => raw.destroy());

async function rawGet(
  bucket: string,
  key: string,
): Promise<{ bytes: Buffer; contentType?: string; meta?: Record<string, string> }> {
  const out = await raw.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return {
    bytes: Buffer.from(await out.Body!.transformToByteArray()),
    contentType: out.ContentType,
    meta: out.Metadata,
  };
}

interface Seen {
  method: string;
  range?: string;
  ifMatch?: string;
  bytes: number;
}

/**
 * A forwarding proxy in front of the S3 server that records each request's method, `Range` and
 * `If-Match` headers and the body bytes of its answer. The Host header goes through unchanged, so
 * SigV4 signatures still verify.
 */
async function recordingProxy(): Promise<{ endpoint: string; seen: Seen[]; close(): Promise<void> }> {
  const target = new URL(REAL.s3.endpoint);
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const entry: Seen = {
      method: req.method ?? '',
      range: req.headers.range,
      ifMatch: req.headers['if-match'],
      bytes: 0,
    };
    seen.push(entry);
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.on('data', (chunk: Buffer) => (entry.bytes += chunk.length));
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function dropBucket(bucket: string): Promise<void> {
  const uploads = await raw.send(new ListMultipartUploadsCommand({ Bucket: bucket })).catch(() => undefined);
  for (const u of uploads?.Uploads ?? []) {
    await raw.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }));
  }
  let token: string | undefined;
  do {
    const out = await raw.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of out.Contents ?? []) await raw.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key }));
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  await raw.send(new DeleteBucketCommand({ Bucket: bucket }));
}

beforeAll(async () => {
  await realService('S3 (scripts/services/swift-s3.sh)', REAL.s3.endpoint);
});

describe('S3Storage with client-side encryption (contract)', () => {
  const bucket = `parley-test-${runId}-enc`;
  runStorageContract({
    async create() {
      await realService('S3 (scripts/services/swift-s3.sh)', REAL.s3.endpoint);
      const masterKey = randomBytes(32);
      const storage = await createS3Storage(options(bucket, { masterKey }));
      return {
        storage,
        masterKey,
        async tamper(key, mutate) {
          const before = await rawGet(bucket, key);
          await raw.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: key,
              Body: mutate(before.bytes),
              ContentType: before.contentType,
              Metadata: before.meta,
            }),
          );
        },
        async close() {
          await storage.close();
          await dropBucket(bucket);
        },
      };
    },
  });
});

describe('S3Storage without client-side encryption (contract)', () => {
  const bucket = `parley-test-${runId}-clear`;
  runStorageContract({
    noTamperReason: 'no master key: objects reach the server in clear and the server encrypts them at rest',
    async create() {
      await realService('S3 (scripts/services/swift-s3.sh)', REAL.s3.endpoint);
      const storage = await createS3Storage(options(bucket));
      return {
        storage,
        async close() {
          await storage.close();
          await dropBucket(bucket);
        },
      };
    },
  });
});

describe('S3Storage specifics', () => {
  const bucket = `parley-test-${runId}-misc`;
  let clear: S3Storage;
  let sealed: S3Storage;
  const masterKey = randomBytes(32);

  beforeAll(async () => {
    clear = await createS3Storage(options(bucket));
    sealed = await createS3Storage(options(bucket, { masterKey }));
  });
  afterAll(async () => {
    await clear?.close();
    await sealed?.close();
    await dropBucket(bucket);
  });

  it('creates a missing bucket, and creating it again is harmless', async () => {
    const fresh = `parley-test-${runId}-new`;
    const a = await createS3Storage(options(fresh));
    const b = await createS3Storage(options(fresh));
    await a.put('k', Buffer.from('v'), 'text/plain');
    expect(Buffer.from((await b.get('k')).bytes).toString()).toBe('v');
    await a.close();
    await b.close();
    await dropBucket(fresh);
  });

  it('stores only an envelope on the server when a master key is set', async () => {
    const marker = `confidential-${randomBytes(6).toString('hex')}`;
    await sealed.put('enc/answer.txt', Buffer.from(marker.repeat(4)), 'text/plain');
    const onServer = await rawGet(bucket, 'enc/answer.txt');
    expect(onServer.bytes.includes(marker)).toBe(false);
    expect(onServer.bytes.subarray(0, 4).toString()).toBe('PENV');
    expect(onServer.contentType).toBe('application/octet-stream');
    expect(onServer.meta).toMatchObject({ 'parley-envelope': '1' });
  });

  it('refuses to return a client-side encrypted object through a storage without the key', async () => {
    await sealed.put('enc/x', Buffer.from('secret'), 'text/plain');
    await expect(clear.get('enc/x')).rejects.toMatchObject({ code: 'INTEGRITY_CHECK_FAILED' });
  });

  it('aborts the multipart upload when the source stream fails, leaving no parts behind', async () => {
    const failing = Readable.from(
      (async function* () {
        yield randomBytes(6 * 1024 * 1024);
        yield randomBytes(6 * 1024 * 1024);
        throw new Error('upload interrupted');
      })(),
    );
    await expect(clear.putStream('multi/broken.webm', failing, 'video/webm')).rejects.toThrow('upload interrupted');
    const uploads = await raw.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    expect(uploads.Uploads ?? []).toEqual([]);
    expect(await clear.exists('multi/broken.webm')).toBe(false);
  });

  it('cuts a stream into exact parts, even from one huge chunk, and stores one object', async () => {
    const bytes = randomBytes(11 * 1024 * 1024 + 5);
    const { size } = await clear.putStream('multi/ok.webm', Readable.from([bytes]), 'video/webm');
    expect(size).toBe(bytes.length);
    const head = await raw.send(new HeadObjectCommand({ Bucket: bucket, Key: 'multi/ok.webm' }));
    expect(head.ContentLength).toBe(bytes.length);
    expect(head.ContentType).toBe('video/webm');
    // A multipart object's ETag ends with its part count: 5 MiB + 5 MiB + the rest.
    expect(head.ETag).toMatch(/-3"$/);
  });

  describe('presigned URLs', () => {
    it('lets a client PUT with the signed content type, then GET the same bytes', async () => {
      const body = randomBytes(70_000);
      const putUrl = await clear.presignPut('uploads/direct.webm', 'video/webm', 300);
      const put = await fetch(putUrl, { method: 'PUT', body, headers: { 'content-type': 'video/webm' } });
      expect(put.status).toBe(200);
      const got = await clear.get('uploads/direct.webm');
      expect(Buffer.from(got.bytes).equals(body)).toBe(true);
      expect(got.contentType).toBe('video/webm');
      const get = await fetch(await clear.presignGet('uploads/direct.webm', 300));
      expect(get.status).toBe(200);
      expect(Buffer.from(await get.arrayBuffer()).equals(body)).toBe(true);
    });

    it('refuses a presigned PUT sent with another content type', async () => {
      const putUrl = await clear.presignPut('uploads/typed.webm', 'video/webm', 300);
      const put = await fetch(putUrl, { method: 'PUT', body: 'x', headers: { 'content-type': 'text/html' } });
      expect(put.status).toBe(403);
      expect(await clear.exists('uploads/typed.webm')).toBe(false);
    });

    it('refuses a presigned URL whose signature or key was altered', async () => {
      await clear.put('uploads/a.txt', Buffer.from('a'), 'text/plain');
      const url = await clear.presignGet('uploads/a.txt', 300);
      const forged = new URL(url);
      forged.searchParams.set('X-Amz-Signature', '0'.repeat(64));
      expect((await fetch(forged)).status).toBe(403);
      expect((await fetch(url.replace('uploads/a.txt', 'uploads/b.txt'))).status).toBe(403);
    });

    it('refuses a presigned URL after it expires', async () => {
      await clear.put('uploads/short.txt', Buffer.from('a'), 'text/plain');
      const url = await clear.presignGet('uploads/short.txt', 1);
      await new Promise((r) => setTimeout(r, 2_500));
      expect((await fetch(url)).status).toBe(403);
    });

    it('is unavailable with client-side encryption, and refuses silly lifetimes', async () => {
      await expect(sealed.presignPut('k', 'text/plain', 60)).rejects.toMatchObject({ code: 'INTERNAL' });
      await expect(clear.presignGet('k', 0)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(clear.presignGet('k', 8 * 24 * 3600)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(clear.presignGet('../k', 60)).rejects.toMatchObject({ code: 'INVALID_STORAGE_KEY' });
    });
  });

  describe('ranged reads through a recording proxy', () => {
    let proxy: Awaited<ReturnType<typeof recordingProxy>>;
    let viaProxy: S3Storage;
    let clearViaProxy: S3Storage;
    beforeAll(async () => {
      proxy = await recordingProxy();
      viaProxy = await createS3Storage(options(bucket, { endpoint: proxy.endpoint, masterKey }));
      clearViaProxy = await createS3Storage(options(bucket, { endpoint: proxy.endpoint }));
    });
    afterAll(async () => {
      await viaProxy?.close();
      await clearViaProxy?.close();
      await proxy?.close();
    });
    const bytesOf = async (body: AsyncIterable<unknown>) => {
      const parts: Buffer[] = [];
      for await (const chunk of body) parts.push(Buffer.from(chunk as Uint8Array));
      return Buffer.concat(parts);
    };

    it('fetches a sealed range with Range GETs of the header, the final segment and the covering segments only', async () => {
      const S = SEGMENT_BYTES;
      const stride = S + 16;
      const header = 87 + 'video/webm'.length;
      const bytes = randomBytes(80 * S + 1000); // about 5 MiB, 81 segments
      await sealed.put('ranged/long.webm', bytes, 'video/webm');
      proxy.seen.length = 0;

      const start = 40 * S + 100;
      const end = start + 1024 * 1024 - 1; // 1 MiB inside segments 40…56
      const got = await viaProxy.getRange('ranged/long.webm', () => ({ start, end }));
      expect(proxy.seen).toEqual([
        { method: 'GET', range: `bytes=0-${HEADER_READ_BYTES - 1}`, ifMatch: undefined, bytes: HEADER_READ_BYTES },
      ]);
      expect((await bytesOf(got.body)).equals(bytes.subarray(start, end + 1))).toBe(true);

      const etag = (await raw.send(new HeadObjectCommand({ Bucket: bucket, Key: 'ranged/long.webm' }))).ETag;
      const storedSize = header + bytes.length + 81 * 16;
      const later = proxy.seen.slice(1).sort((a, b) => (a.range ?? '').localeCompare(b.range ?? ''));
      expect(later).toEqual([
        {
          method: 'GET',
          range: `bytes=${header + 40 * stride}-${header + 57 * stride - 1}`,
          ifMatch: etag,
          bytes: 17 * stride,
        },
        {
          method: 'GET',
          range: `bytes=${header + 80 * stride}-${storedSize - 1}`,
          ifMatch: etag,
          bytes: storedSize - (header + 80 * stride),
        },
      ]);
      // 1 MiB asked: about 1.1 MiB fetched of a 5 MiB object.
      expect(proxy.seen.reduce((sum, r) => sum + r.bytes, 0)).toBeLessThan(1.2 * 1024 * 1024);
    });

    it('fetches a plaintext range (no master key) with a HEAD and one Range GET', async () => {
      const bytes = randomBytes(3 * 1024 * 1024);
      await clear.put('ranged/clear.webm', bytes, 'video/webm');
      proxy.seen.length = 0;
      const got = await clearViaProxy.getRange('ranged/clear.webm', (size) => ({ start: size - 500, end: size - 1 }));
      expect((await bytesOf(got.body)).equals(bytes.subarray(-500))).toBe(true);
      expect(proxy.seen.map((r) => [r.method, r.range, r.bytes])).toEqual([
        ['HEAD', undefined, 0],
        ['GET', `bytes=${bytes.length - 500}-${bytes.length - 1}`, 500],
      ]);
    });

    it('sends no request for the body until it is read', async () => {
      await sealed.put('ranged/unread.webm', randomBytes(SEGMENT_BYTES * 4), 'video/webm');
      proxy.seen.length = 0;
      const got = await viaProxy.getRange('ranged/unread.webm', () => ({
        start: SEGMENT_BYTES,
        end: 2 * SEGMENT_BYTES,
      }));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(proxy.seen.length).toBe(1);
      got.body.destroy();
    });
  });

  it('maps bad credentials to UPSTREAM_FAILED and an unreachable server to SERVICE_UNAVAILABLE', async () => {
    const wrong = new S3Storage(options(bucket, { secretAccessKey: 'not-the-secret' }));
    await expect(wrong.get('enc/x')).rejects.toMatchObject({ code: 'UPSTREAM_FAILED' });
    await wrong.close();
    const down = new S3Storage(options(bucket, { endpoint: 'http://127.0.0.1:9' }));
    await expect(down.ping()).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    await down.close();
  });

  it('is what createStorage builds for kind "s3", with client-side encryption from the config key', async () => {
    const storage = await createStorage({
      storage: { kind: 's3', ...options(bucket), masterKey: masterKey.toString('hex') },
    });
    expect(storage).toBeInstanceOf(S3Storage);
    expect((storage as S3Storage).clientSideEncryption).toBe(true);
    await sealed.put('cfg/x', Buffer.from('from sealed'), 'text/plain');
    expect(Buffer.from((await storage.get('cfg/x')).bytes).toString()).toBe('from sealed');
    await storage.close();
  });
});

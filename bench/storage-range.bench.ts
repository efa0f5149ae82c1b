/**
 * Recording playback from encrypted storage: what a `<video>` scrubbing a long recording costs.
 * The pattern: `--ranges` ranges of 1 MiB at random offsets (seeded, the same for every path), then
 * the last 1 MiB. Three paths over one object of `--mb` MiB:
 *
 * - old: what the media service did before ranged reads — `Storage.get` (the whole object read and
 *   decrypted) per range, then a slice. Its 64 MiB cache never held an object over 32 MiB, so for
 *   these sizes this was every request.
 * - new: `Storage.getRange` — the header, the final segment and the 64 KiB segments holding the range.
 * - legacy: `Storage.getRange` on an object written before envelope version 2, which it decrypts whole.
 *
 * Each path runs in its own child process, so its RSS is its own (sampled every 2 ms and after
 * each range). Bytes decrypted per range are
 * counted from the format (segments touched × their size; the whole object for old and legacy).
 * The local disk by default (objects in the page cache after writing); `--s3 <endpoint>` uses an
 * S3 server (credentials from S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY, default the test Swift's).
 * The last line is one JSON object.
 *
 *   npm run bench:storage [-- --mb 100 --ranges 40 --s3 http://127.0.0.1:8089]
 */
import { DeleteBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { SEGMENT_BYTES } from '../apps/server/src/infra/storage/envelope.ts';
import { createLocalStorage } from '../apps/server/src/infra/storage/local-storage.ts';
import { createS3Storage } from '../apps/server/src/infra/storage/s3-storage.ts';
import type { Storage } from '../apps/server/src/infra/storage/storage.ts';
import { sealVersion1 } from '../apps/server/src/infra/storage/testing.ts';

const { values } = parseArgs({
  options: {
    mb: { type: 'string', default: '100' },
    ranges: { type: 'string', default: '40' },
    s3: { type: 'string' },
    // Internal: a child running one path.
    phase: { type: 'string' },
    root: { type: 'string' },
    bucket: { type: 'string' },
  },
});
const MiB = 1024 * 1024;
const RANGE = MiB;
const S3_BUCKET_PREFIX = 'parley-bench-';
const KEY_NEW = 'bench/recording-v2.webm';
const KEY_OLD = 'bench/recording-v1.webm';
const masterKey = Buffer.from(process.env.BENCH_MASTER_KEY ?? randomBytes(32).toString('hex'), 'hex');
const s3 = values.s3
  ? {
      endpoint: values.s3,
      region: 'us-east-1',
      accessKeyId: process.env.S3_ACCESS_KEY_ID ?? 'test:tester',
      secretAccessKey: process.env.S3_SECRET_ACCESS_KEY ?? 'testing',
      forcePathStyle: true,
    }
  : undefined;

/** For what the storage port cannot do: plant a version 1 object, drop the bucket. */
const rawS3 =
  s3 &&
  new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });

async function openStorage(root: string | undefined, bucket: string | undefined): Promise<Storage> {
  if (s3) return createS3Storage({ ...s3, bucket: bucket!, masterKey });
  return createLocalStorage({ root: root!, masterKey });
}

/** The same pseudo-random offsets in every process (mulberry32). */
function offsets(size: number, count: number): number[] {
  let seed = 0x5eed;
  const next = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const starts = Array.from({ length: count }, () => Math.floor(next() * (size - RANGE)));
  return [...starts, size - RANGE];
}

interface PhaseResult {
  ms: number[];
  decryptedBytes: number[];
  digest: string;
  rssBeforeMiB: number;
  rssPeakMiB: number;
}

async function collect(body: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of body) parts.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts);
}

/** A child: one path over the pattern, printing its result as JSON. */
async function runPhase(phase: string): Promise<void> {
  const storage = await openStorage(values.root, values.bucket);
  const key = phase === 'new' ? KEY_NEW : KEY_OLD;
  const size = (await storage.getRange(key, () => undefined)).size;
  const hash = createHash('sha256');
  const result: PhaseResult = {
    ms: [],
    decryptedBytes: [],
    digest: '',
    rssBeforeMiB: process.memoryUsage.rss() / MiB,
    rssPeakMiB: 0,
  };
  // Sampled rather than `resourceUsage().maxRSS`, which a forked child inherits from its parent.
  const sampler = setInterval(() => {
    result.rssPeakMiB = Math.max(result.rssPeakMiB, process.memoryUsage.rss() / MiB);
  }, 2);
  for (const start of offsets(size, Number(values.ranges))) {
    const end = start + RANGE - 1;
    const t = performance.now();
    let bytes: Buffer;
    if (phase === 'old') {
      const whole = await storage.get(key);
      bytes = Buffer.from(whole.bytes.buffer, whole.bytes.byteOffset + start, RANGE);
    } else {
      bytes = await collect((await storage.getRange(key, () => ({ start, end }))).body);
    }
    result.ms.push(performance.now() - t);
    hash.update(bytes);
    const final = Math.floor((size - 1) / SEGMENT_BYTES);
    const first = Math.floor(start / SEGMENT_BYTES);
    const last = Math.floor(end / SEGMENT_BYTES);
    const segments = last - first + 1 + (last < final ? 1 : 0);
    const lastSegmentBytes = size - final * SEGMENT_BYTES;
    result.decryptedBytes.push(
      phase === 'new' ? segments * SEGMENT_BYTES - (last === final ? SEGMENT_BYTES - lastSegmentBytes : 0) : size,
    );
    result.rssPeakMiB = Math.max(result.rssPeakMiB, process.memoryUsage.rss() / MiB);
  }
  clearInterval(sampler);
  result.digest = hash.digest('hex');
  await storage.close();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

async function runChild(phase: string, root: string | undefined, bucket: string | undefined): Promise<PhaseResult> {
  const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--phase', phase, '--ranges', values.ranges];
  if (root) args.push('--root', root);
  if (bucket) args.push('--bucket', bucket);
  if (values.s3) args.push('--s3', values.s3);
  const { stdout } = await promisify(execFile)(process.execPath, args, {
    env: { ...process.env, BENCH_MASTER_KEY: masterKey.toString('hex') },
    maxBuffer: 16 * MiB,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as PhaseResult;
}

async function prepare(storage: Storage, bytes: number, bucket: string | undefined): Promise<void> {
  // The object as an upload stores it: streamed in, 1 MiB chunks of random bytes.
  const plain: Buffer[] = [];
  await storage.putStream(
    KEY_NEW,
    Readable.from(
      (function* () {
        for (let at = 0; at < bytes; at += MiB) {
          const chunk = randomBytes(Math.min(MiB, bytes - at));
          plain.push(chunk);
          yield chunk;
        }
      })(),
    ),
    'video/webm',
  );
  const v1 = sealVersion1(masterKey, Buffer.concat(plain), 'video/webm');
  plain.length = 0;
  if (!rawS3) {
    await storage.put(KEY_OLD, Buffer.from('placeholder'), 'text/plain');
    await writeFile((storage as Awaited<ReturnType<typeof createLocalStorage>>).fileOf(KEY_OLD), v1);
    return;
  }
  await rawS3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: KEY_OLD,
      Body: v1,
      ContentType: 'application/octet-stream',
      Metadata: { 'parley-envelope': '1' },
    }),
  );
}

function summary(r: PhaseResult) {
  const sorted = [...r.ms].sort((a, b) => a - b);
  const round1 = (x: number) => Math.round(x * 10) / 10;
  return {
    ms_per_range_p50: round1(sorted[Math.floor(sorted.length / 2)]!),
    ms_per_range_p95: round1(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))]!),
    ms_per_range_mean: round1(r.ms.reduce((s, x) => s + x, 0) / r.ms.length),
    decrypted_mib_per_range: round1(r.decryptedBytes.reduce((s, x) => s + x, 0) / r.decryptedBytes.length / MiB),
    rss_before_mib: Math.round(r.rssBeforeMiB),
    rss_peak_mib: Math.round(r.rssPeakMiB),
  };
}

if (values.phase) {
  await runPhase(values.phase);
} else {
  const bytes = Number(values.mb) * MiB;
  const root = s3 ? undefined : await mkdtemp(path.join(os.tmpdir(), 'parley-storage-bench-'));
  const bucket = s3 ? `${S3_BUCKET_PREFIX}${randomBytes(4).toString('hex')}` : undefined;
  const storage = await openStorage(root, bucket);
  try {
    await prepare(storage, bytes, bucket);
    const results: Record<string, ReturnType<typeof summary>> = {};
    const digests: string[] = [];
    for (const phase of ['old', 'new', 'legacy']) {
      const r = await runChild(phase, root, bucket);
      results[phase] = summary(r);
      digests.push(r.digest);
      console.log(
        `${phase.padEnd(6)}: ${results[phase].ms_per_range_p50} ms per 1 MiB range (p50), ` +
          `${results[phase].decrypted_mib_per_range} MiB decrypted per range, RSS peak ${results[phase].rss_peak_mib} MiB`,
      );
    }
    console.log(
      JSON.stringify({
        storage: s3 ? 's3' : 'local',
        object_mib: Number(values.mb),
        ranges: Number(values.ranges) + 1,
        range_bytes: RANGE,
        segment_bytes: SEGMENT_BYTES,
        same_bytes_on_every_path: digests.every((d) => d === digests[0]),
        ...results,
      }),
    );
  } finally {
    for (const key of [KEY_NEW, KEY_OLD]) await storage.delete(key).catch(() => undefined);
    await storage.close();
    if (root) await rm(root, { recursive: true, force: true });
    if (rawS3) {
      await rawS3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
      rawS3.destroy();
    }
  }
}

// Self-check of the S3 server started by scripts/services/swift-s3.sh, with the AWS SDK the server
// uses: SigV4 requests, a multipart upload, presigned PUT/GET URLs. It leaves one small object whose
// body holds a random marker (printed as `marker=...`) so that the shell script can check that the
// marker is not readable on disk (encryption at rest); `--cleanup` removes the check's buckets.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

const PREFIX = 'parley-selfcheck-';
const client = new S3Client({
  endpoint: process.env.S3_ENDPOINT,
  region: process.env.S3_REGION ?? 'us-east-1',
  credentials: { accessKeyId: process.env.S3_ACCESS_KEY_ID, secretAccessKey: process.env.S3_SECRET_ACCESS_KEY },
  forcePathStyle: true,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});

const sha = (b) => createHash('sha256').update(b).digest('hex');
function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

async function removeBucket(Bucket) {
  const listed = await client.send(new ListObjectsV2Command({ Bucket }));
  for (const o of listed.Contents ?? []) await client.send(new DeleteObjectCommand({ Bucket, Key: o.Key }));
  await client.send(new DeleteBucketCommand({ Bucket }));
}

async function cleanup() {
  const { Buckets = [] } = await client.send(new ListBucketsCommand({}));
  for (const b of Buckets) if (b.Name?.startsWith(PREFIX)) await removeBucket(b.Name);
}

async function main() {
  const Bucket = `${PREFIX}${randomUUID().slice(0, 8)}`;
  await client.send(new CreateBucketCommand({ Bucket }));

  // Multipart: two 5 MiB parts and a small one.
  const parts = [randomBytes(5 << 20), randomBytes(5 << 20), randomBytes(1234)];
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket, Key: 'multi.bin' }));
  const done = [];
  for (const [i, Body] of parts.entries()) {
    const { ETag } = await client.send(
      new UploadPartCommand({ Bucket, Key: 'multi.bin', UploadId, PartNumber: i + 1, Body }),
    );
    done.push({ ETag, PartNumber: i + 1 });
  }
  await client.send(
    new CompleteMultipartUploadCommand({ Bucket, Key: 'multi.bin', UploadId, MultipartUpload: { Parts: done } }),
  );
  const got = await client.send(new GetObjectCommand({ Bucket, Key: 'multi.bin' }));
  check(sha(await got.Body.transformToByteArray()) === sha(Buffer.concat(parts)), 'multipart round-trip');

  // Presigned PUT then presigned GET, with plain fetch (no SDK signing on the request).
  const body = randomBytes(4096);
  const putUrl = await getSignedUrl(client, new PutObjectCommand({ Bucket, Key: 'presigned.bin' }), {
    expiresIn: 60,
  });
  const put = await fetch(putUrl, { method: 'PUT', body });
  check(put.ok, `presigned PUT answered ${put.status}`);
  const getUrl = await getSignedUrl(client, new GetObjectCommand({ Bucket, Key: 'presigned.bin' }), {
    expiresIn: 60,
  });
  const get = await fetch(getUrl);
  check(get.ok && sha(Buffer.from(await get.arrayBuffer())) === sha(body), 'presigned GET round-trip');
  const forged = await fetch(getUrl.replace(/X-Amz-Signature=[0-9a-f]/, 'X-Amz-Signature=Z'));
  check(forged.status === 403, `a forged signature must be refused, got ${forged.status}`);

  const marker = `parley-marker-${randomBytes(12).toString('hex')}`;
  const clear = Buffer.from(`${marker}\n`.repeat(64));
  await client.send(new PutObjectCommand({ Bucket, Key: 'clear.txt', Body: clear }));
  console.log(
    `S3 self-check ok: SigV4, multipart (10 MiB), presigned PUT/GET; bucket=${Bucket} marker=${marker} bytes=${clear.length}`,
  );
}

try {
  await (process.argv.includes('--cleanup') ? cleanup() : main());
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
} finally {
  client.destroy();
}

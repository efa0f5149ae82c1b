import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createScratchDatabase } from '../../infra/db/postgres-test-databases.ts';
import type { Deployment, Layout } from './layouts.ts';
import { REAL, realService } from './real-services.ts';
import { startTestServer, type TestServer } from './test-server.ts';

const execFileAsync = promisify(execFile);

/**
 * Environment for a deployment on the real servers, isolated from every other test: its own
 * PostgreSQL database, Redis key prefix, RabbitMQ virtual host and S3 bucket.
 */
async function realEnvironment(): Promise<{ env: Record<string, string>; dispose(): Promise<void> }> {
  await realService('PostgreSQL', REAL.databaseUrl);
  await realService('Redis', REAL.redisUrl);
  await realService('RabbitMQ', REAL.amqpUrl);
  await realService('S3', REAL.s3.endpoint);
  const id = randomBytes(4).toString('hex');
  const database = await createScratchDatabase(REAL.databaseUrl, 'api');
  const vhost = `parley-test-${id}`;
  await execFileAsync('rabbitmqctl', ['-q', 'add_vhost', vhost]);
  await execFileAsync('rabbitmqctl', ['-q', 'set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*']);
  const amqp = new URL(REAL.amqpUrl);
  amqp.pathname = `/${encodeURIComponent(vhost)}`;
  return {
    env: {
      DATABASE_URL: database.url,
      REDIS_URL: REAL.redisUrl,
      REDIS_KEY_PREFIX: `parley-test-${id}:`,
      AMQP_URL: amqp.toString(),
      S3_ENDPOINT: REAL.s3.endpoint,
      S3_REGION: REAL.s3.region,
      S3_ACCESS_KEY_ID: REAL.s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: REAL.s3.secretAccessKey,
      S3_BUCKET: `parley-test-${id}`,
    },
    async dispose() {
      await database.drop().catch(() => {});
      await execFileAsync('rabbitmqctl', ['-q', 'delete_vhost', vhost]).catch(() => {});
    },
  };
}

function deployment(entry: TestServer, processes: Deployment['processes'], dispose: () => Promise<void>): Deployment {
  return {
    api: entry.api,
    outbox: () => processes.find((p) => p.role !== 'gateway')!.server.outbox(),
    processes,
    async close() {
      for (const p of processes) await p.server.close();
      await dispose();
    },
  };
}

/** Every role in one process, on PostgreSQL, Redis, RabbitMQ and S3 (mail stays in the outbox). */
export const realOneProcess: Layout = async (extra = {}) => {
  const real = await realEnvironment();
  const server = await startTestServer({ ...real.env, ...extra });
  return deployment(server, [{ role: 'all', server }], () => real.dispose());
};

/** A gateway forwarding to two interview processes, and a worker, all on the same real servers. */
export const realSplit: Layout = async (extra = {}) => {
  const real = await realEnvironment();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'parley-real-split-'));
  const env = { ...real.env, ...extra };
  const started: TestServer[] = [];
  const dispose = async () => {
    await real.dispose();
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 2; i++) started.push(await startTestServer({ ...env, ROLES: 'interview' }, { dataDir }));
    const interviews = [...started];
    // The worker sends the e-mail the interview processes request, into the shared outbox.
    const worker = await startTestServer({ ...env, ROLES: 'worker' }, { dataDir });
    started.push(worker);
    const gateway = await startTestServer(
      { ...env, ROLES: 'gateway', UPSTREAMS: `interview=${interviews.map((s) => s.url).join('|')}` },
      { dataDir },
    );
    return deployment(
      gateway,
      [
        { role: 'gateway', server: gateway },
        ...interviews.map((server) => ({ role: 'interview', server })),
        { role: 'worker', server: worker },
      ],
      dispose,
    );
  } catch (error) {
    for (const s of started) await s.close();
    await dispose();
    throw error;
  }
};

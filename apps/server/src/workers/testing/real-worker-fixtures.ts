/**
 * Test wiring for the workers on the real servers: a scratch PostgreSQL database (migrated), an S3
 * bucket of its own (Swift's s3api) with client-side encryption, and a RabbitMQ virtual host of
 * its own declared with `WORKER_TOPOLOGY`. A missing server fails the test, it never skips.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { DeleteBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { AmqpBroker } from '../../infra/broker/amqp-broker.ts';
import { PostgresDatabase } from '../../infra/db/postgres-database.ts';
import { createScratchDatabase } from '../../infra/db/postgres-test-databases.ts';
import { createS3Storage, type S3Storage } from '../../infra/storage/s3-storage.ts';
import { REAL, realService } from '../../shared/testing/real-services.ts';
import { WORKER_TOPOLOGY } from '../worker-topology.ts';

const execFileAsync = promisify(execFile);
const rabbitmqctl = (...args: string[]) => execFileAsync('rabbitmqctl', ['-q', ...args]);

export interface RealWorkerFixtures {
  database: PostgresDatabase;
  storage: S3Storage;
  /** A new connection to this fixture's virtual host, as another process would open it. */
  connect(name: string): Promise<AmqpBroker>;
  /** Closes every connection, drops the database, empties and removes the bucket, deletes the virtual host. */
  close(): Promise<void>;
}

export async function realWorkerFixtures(label: string): Promise<RealWorkerFixtures> {
  await realService('PostgreSQL', REAL.databaseUrl);
  await realService('RabbitMQ', REAL.amqpUrl);
  await realService('S3 (scripts/services/swift-s3.sh)', REAL.s3.endpoint);
  const id = randomBytes(4).toString('hex');
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  try {
    const scratch = await createScratchDatabase(REAL.databaseUrl, label.replace(/\W/g, '_'));
    cleanups.push(() => scratch.drop());
    const database = new PostgresDatabase({ url: scratch.url, poolMax: 6 });
    cleanups.push(() => database.close());
    await database.migrate();

    const bucket = `parley-${label}-${id}`;
    const storage = await createS3Storage({ ...REAL.s3, forcePathStyle: true, bucket, masterKey: randomBytes(32) });
    cleanups.push(async () => {
      for (const key of await storage.list('')) await storage.delete(key);
      await storage.close();
      const s3 = new S3Client({
        endpoint: REAL.s3.endpoint,
        region: REAL.s3.region,
        credentials: { accessKeyId: REAL.s3.accessKeyId, secretAccessKey: REAL.s3.secretAccessKey },
        forcePathStyle: true,
      });
      try {
        await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
      } finally {
        s3.destroy();
      }
    });

    const vhost = `parley-${label}-${id}`;
    await rabbitmqctl('add_vhost', vhost);
    cleanups.push(() => rabbitmqctl('delete_vhost', vhost));
    await rabbitmqctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');
    const url = new URL(REAL.amqpUrl);
    url.pathname = `/${encodeURIComponent(vhost)}`;
    const connections: AmqpBroker[] = [];
    cleanups.push(async () => {
      for (const c of connections) await c.close().catch(() => {});
    });

    return {
      database,
      storage,
      async connect(name) {
        const broker = await AmqpBroker.connect({
          url: url.toString(),
          topology: WORKER_TOPOLOGY,
          connectionName: name,
        });
        connections.push(broker);
        return broker;
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

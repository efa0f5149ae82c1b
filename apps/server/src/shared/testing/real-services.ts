/**
 * Addresses of the real servers for the `real` test tier. scripts/test-all.sh starts them and
 * exports these variables; the defaults match what it starts on this machine. A test of the real
 * tier calls `realService(...)`, which throws when the server is unreachable: the tier fails,
 * it never skips.
 */
import net from 'node:net';

export const REAL = {
  databaseUrl: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  databaseReplicaUrl: process.env.TEST_DATABASE_REPLICA_URL ?? 'postgres://postgres@127.0.0.1:5433/test',
  redisUrl: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0',
  amqpUrl: process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
  s3: {
    endpoint: process.env.TEST_S3_ENDPOINT ?? 'http://127.0.0.1:8089',
    region: 'us-east-1',
    accessKeyId: process.env.TEST_S3_ACCESS_KEY_ID ?? 'test:tester',
    secretAccessKey: process.env.TEST_S3_SECRET_ACCESS_KEY ?? 'testing',
  },
} as const;

/** Resolves when something accepts TCP connections at the URL's host:port; throws otherwise. */
export async function realService(name: string, url: string, timeoutMs = 3_000): Promise<void> {
  const u = new URL(url);
  const defaults: Record<string, number> = {
    'postgres:': 5432,
    'postgresql:': 5432,
    'redis:': 6379,
    'amqp:': 5672,
    'http:': 80,
  };
  const port = Number(u.port || defaults[u.protocol] || 0);
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect({ host: u.hostname, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${name} is not reachable at ${u.host} (timeout); run scripts/test-all.sh to start it`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.end();
      resolve();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${name} is not reachable at ${u.host}: ${err.message}; run scripts/test-all.sh to start it`));
    });
  });
}

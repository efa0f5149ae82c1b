import { outboxTexts } from './outbox.ts';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import https from 'node:https';
import { loadConfig } from '../../config.ts';
import { createBroker } from '../../infra/broker/index.ts';
import type { Broker } from '../../infra/broker/broker.ts';
import { createDatabase } from '../../infra/db/index.ts';
import type { Database } from '../../infra/db/database.ts';
import { createScratchDatabase } from '../../infra/db/postgres-test-databases.ts';
import { WORKER_TOPOLOGY } from '../../workers/index.ts';
import type { Deployment } from './layouts.ts';
import { REAL, realService } from './real-services.ts';
import { ApiClient } from './test-server.ts';

const execFileAsync = promisify(execFile);
const CLI = path.resolve(import.meta.dirname, '..', '..', 'cli.ts');

/** How many processes of each role; the issue's layout by default. */
export const SPLIT_LAYOUT: Record<string, number> = {
  gateway: 2,
  realtime: 2,
  interview: 1,
  emotion: 2,
  scoring: 1,
  worker: 1,
};

export interface SplitDeployment extends Deployment {
  /** Handles of the test process on the same servers, to look at rows and queues. */
  database: Database;
  broker: Broker;
  /** Sends SIGKILL to one process of the role; resolves when it is gone. */
  kill(role: string, index?: number): Promise<void>;
  running(role: string): number;
}

export const freePort = () =>
  new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });

async function waitReady(url: string, child: ChildProcess, seconds = 90): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${url}: process exited with ${child.exitCode}`);
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${url} not ready after ${seconds}s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Parley split across real processes on loopback, as in production: nginx terminating TLS 1.3
 * (a self-signed certificate made here) in front of two gateways, which forward to one interview
 * process and two realtime processes; two emotion, one scoring and one worker process consume from
 * RabbitMQ; PostgreSQL primary + streaming replica, Redis and S3. Each role is its own `parley
 * start` process from the same build.
 */
export async function startSplitDeployment(layout = SPLIT_LAYOUT): Promise<SplitDeployment> {
  for (const [name, url] of [
    ['PostgreSQL', REAL.databaseUrl],
    ['PostgreSQL replica', REAL.databaseReplicaUrl],
    ['Redis', REAL.redisUrl],
    ['RabbitMQ', REAL.amqpUrl],
    ['S3', REAL.s3.endpoint],
  ] as const) {
    await realService(name, url);
  }
  const id = randomBytes(4).toString('hex');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'parley-split-'));
  const database = await createScratchDatabase(REAL.databaseUrl, 'split');
  const vhost = `parley-split-${id}`;
  await execFileAsync('rabbitmqctl', ['-q', 'add_vhost', vhost]);
  await execFileAsync('rabbitmqctl', ['-q', 'set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*']);
  const amqp = new URL(REAL.amqpUrl);
  amqp.pathname = `/${encodeURIComponent(vhost)}`;
  const replica = new URL(REAL.databaseReplicaUrl);
  replica.pathname = new URL(database.url).pathname;

  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    LOG_LEVEL: 'warn',
    DATA_DIR: path.join(dir, 'data'),
    DATABASE_URL: database.url,
    DATABASE_REPLICA_URL: replica.toString(),
    REDIS_URL: REAL.redisUrl,
    REDIS_KEY_PREFIX: `parley-split-${id}:`,
    AMQP_URL: amqp.toString(),
    S3_ENDPOINT: REAL.s3.endpoint,
    S3_REGION: REAL.s3.region,
    S3_ACCESS_KEY_ID: REAL.s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: REAL.s3.secretAccessKey,
    S3_BUCKET: `parley-split-${id}`,
    STORAGE_MASTER_KEY: randomBytes(32).toString('hex'),
    SECRETS_KEY: randomBytes(32).toString('hex'),
    JWT_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    PASSWORD_SCRYPT_N: '16384',
  };
  const processes: { role: string; child: ChildProcess; url: string }[] = [];
  let nginx: ChildProcess | undefined;
  const start = async (role: string, extra: Record<string, string> = {}) => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'start'], {
      env: { ...env, ...extra, ROLES: role, PORT: String(port), PUBLIC_URL: 'https://localhost' },
      stdio: ['ignore', 'ignore', 'inherit'],
      detached: true,
    });
    processes.push({ role, child, url });
    return { child, url };
  };

  const close = async () => {
    nginx?.kill('SIGTERM');
    await Promise.all(
      processes.map(async ({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }),
    );
    await inspection?.broker.close().catch(() => {});
    await inspection?.database.close().catch(() => {});
    await database.drop().catch(() => {});
    await execFileAsync('rabbitmqctl', ['-q', 'delete_vhost', vhost]).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  };
  let inspection: { database: Database; broker: Broker } | undefined;

  try {
    // Migrations run once, before the fleet starts (every process would also apply them safely).
    const interview = await start('interview');
    await waitReady(interview.url, interview.child);
    const backends = [interview];
    for (const role of ['realtime', 'emotion', 'scoring', 'worker'] as const) {
      for (let i = 0; i < (layout[role] ?? 0); i++) backends.push(await start(role));
    }
    for (const p of processes) await waitReady(p.url, p.child);
    const realtimes = processes.filter((p) => p.role === 'realtime').map((p) => p.url);
    const upstreams = `interview=${interview.url};realtime=${realtimes.join('|')}`;
    for (let i = 0; i < (layout.gateway ?? 0); i++) {
      const g = await start('gateway', { UPSTREAMS: upstreams });
      await waitReady(g.url, g.child);
    }

    // nginx with TLS 1.3 in front of the gateways.
    const tls = path.join(dir, 'tls');
    await execFileAsync('sh', ['-c', `mkdir -p ${tls}`]);
    await execFileAsync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      path.join(tls, 'key.pem'),
      '-out',
      path.join(tls, 'cert.pem'),
    ]);
    const port = await freePort();
    const gateways = processes.filter((p) => p.role === 'gateway').map((p) => new URL(p.url).host);
    const conf = path.join(dir, 'nginx.conf');
    await writeFile(
      conf,
      `daemon off;
worker_processes 1;
${process.getuid?.() === 0 ? 'user root;' : ''}
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/nginx-body;
  proxy_temp_path ${dir}/nginx-proxy;
  fastcgi_temp_path ${dir}/nginx-fastcgi;
  uwsgi_temp_path ${dir}/nginx-uwsgi;
  scgi_temp_path ${dir}/nginx-scgi;
  client_max_body_size 200m;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  upstream parley { ${gateways.map((g) => `server ${g} max_fails=1 fail_timeout=5s;`).join(' ')} }
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${tls}/cert.pem;
    ssl_certificate_key ${tls}/key.pem;
    ssl_protocols TLSv1.3;
    location / {
      proxy_pass http://parley;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto https;
      proxy_next_upstream error timeout http_502 http_503;
      proxy_read_timeout 120s;
    }
  }
}
`,
    );
    nginx = spawn('nginx', ['-c', conf, '-p', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
    const base = `https://127.0.0.1:${port}`;
    const ca = await readFile(path.join(tls, 'cert.pem'), 'utf8');
    const api = new ApiClient(base, trustingFetch(ca));
    for (const deadline = Date.now() + 30_000; ;) {
      const ok = await api.call('GET', '/healthz').then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error('nginx did not come up');
      await new Promise((r) => setTimeout(r, 200));
    }

    const config = loadConfig({ ...env, ROLES: 'interview' });
    inspection = {
      database: await createDatabase(config),
      broker: await createBroker(config, WORKER_TOPOLOGY),
    };
    const outboxDir = path.join(env.DATA_DIR!, 'outbox');
    return {
      api,
      database: inspection.database,
      broker: inspection.broker,
      processes: [],
      wsOptions: { ca, servername: 'localhost' },
      outbox: () => outboxTexts(outboxDir),
      running: (role) =>
        processes.filter((p) => p.role === role && p.child.exitCode === null && p.child.signalCode === null).length,
      async kill(role, index = 0) {
        const alive = processes.filter(
          (p) => p.role === role && p.child.exitCode === null && p.child.signalCode === null,
        );
        const victim = alive[index];
        if (!victim) throw new Error(`no running ${role} process`);
        victim.child.kill('SIGKILL');
        await new Promise((r) => victim.child.once('exit', r));
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** `fetch` over node:https that trusts one extra CA (the deployment's self-signed certificate). */
function trustingFetch(ca: string): typeof fetch {
  const agent = new https.Agent({ ca, servername: 'localhost', keepAlive: true });
  return async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const body = init.body as string | ArrayBuffer | undefined;
    return new Promise<Response>((resolve, reject) => {
      const req = https.request(
        url,
        { method: init.method ?? 'GET', headers: init.headers as Record<string, string>, agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const headers = new Headers();
            for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
            const status = res.statusCode ?? 0;
            const payload = status === 204 || status === 304 ? null : Buffer.concat(chunks);
            resolve(new Response(payload, { status, headers }));
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body === undefined ? undefined : typeof body === 'string' ? body : Buffer.from(body));
    });
  };
}

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmqpBroker } from '../infra/broker/amqp-broker.ts';
import { PostgresDatabase } from '../infra/db/postgres-database.ts';
import { createScratchDatabase } from '../infra/db/postgres-test-databases.ts';
import { answerMedia, auditLog, processedMessages } from '../infra/db/schema.ts';
import { createLocalStorage, type LocalStorage } from '../infra/storage/local-storage.ts';
import { REAL, realService } from '../shared/testing/real-services.ts';
import {
  browserRecording,
  createCandidateSession,
  createInterview,
  createOrg,
  createRecordedAnswer,
  eventually,
} from './testing/worker-fixtures.ts';
import { WORKER_TOPOLOGY } from './worker-topology.ts';

const execFileAsync = promisify(execFile);
const WORKER = path.join(import.meta.dirname, 'testing', 'worker-process.ts');

let dir: string;
let vhostUrl: string;
let vhost: string;
let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
let database: PostgresDatabase;
let storage: LocalStorage;
let broker: AmqpBroker;
const masterKey = randomBytes(32);
const children = new Set<ChildProcess>();

beforeAll(async () => {
  await realService('PostgreSQL', REAL.databaseUrl);
  await realService('RabbitMQ', REAL.amqpUrl);
  dir = await mkdtemp(path.join(tmpdir(), 'parley-no-loss-'));
  scratch = await createScratchDatabase(REAL.databaseUrl, 'workers');
  database = new PostgresDatabase({ url: scratch.url, poolMax: 4 });
  await database.migrate();
  storage = await createLocalStorage({ root: path.join(dir, 'objects'), masterKey });
  vhost = `parley-workers-${randomBytes(4).toString('hex')}`;
  await execFileAsync('rabbitmqctl', ['-q', 'add_vhost', vhost]);
  await execFileAsync('rabbitmqctl', ['-q', 'set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*']);
  const u = new URL(REAL.amqpUrl);
  u.pathname = `/${encodeURIComponent(vhost)}`;
  vhostUrl = u.toString();
  broker = await AmqpBroker.connect({ url: vhostUrl, topology: WORKER_TOPOLOGY, onError: () => {} });
});

afterAll(async () => {
  for (const c of children) {
    if (c.exitCode !== null || c.signalCode !== null || !c.pid) continue;
    try {
      process.kill(-c.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  await broker?.close();
  await storage?.close();
  await database?.close();
  await scratch?.drop();
  if (vhost) await execFileAsync('rabbitmqctl', ['-q', 'delete_vhost', vhost]).catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

/** Starts a worker process (its own process group, so ffmpeg dies with it); resolves each JSON log line to `onLine`. */
function startWorker(onLine: (line: Record<string, unknown>) => void): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      AMQP_URL: vhostUrl,
      DATABASE_URL: scratch.url,
      STORAGE_ROOT: path.join(dir, 'objects'),
      STORAGE_MASTER_KEY: masterKey.toString('hex'),
    },
  });
  children.add(child);
  createInterface({ input: child.stdout }).on('line', (text) => {
    try {
      onLine(JSON.parse(text) as Record<string, unknown>);
    } catch {
      // Not a log line.
    }
  });
  return child;
}

const exited = (c: ChildProcess) =>
  new Promise<void>((resolve) =>
    c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('exit', () => resolve()),
  );

describe('no loss', () => {
  it('a worker killed with SIGKILL mid-job: the job is redelivered to another worker and its effect happens exactly once', async () => {
    const { orgId, recruiterId } = await createOrg(database);
    const { interviewId, questionVersionId } = await createInterview(database, orgId, recruiterId);
    const { sessionId } = await createCandidateSession(database, { orgId, interviewId });
    const event = await createRecordedAnswer(database, storage, {
      orgId,
      sessionId,
      questionVersionId,
      bytes: await browserRecording(10, 'disgust__disgusted-2.mp4'),
    });

    let started!: () => void;
    const jobStarted = new Promise<void>((resolve) => (started = resolve));
    const first = startWorker((line) => {
      if (line.msg === 'job started' && line.job === 'video.process') started();
    });
    await broker.publish('interview.video.uploaded', event, { messageId: `video:${event.answerId}` });
    await jobStarted;
    // Kill it once the job has begun its work (the row says processing; ffmpeg is running).
    await eventually('the first worker to start processing', async () => {
      const [m] = await database.primary.select().from(answerMedia).where(eq(answerMedia.answerId, event.answerId));
      return m?.status === 'processing';
    });
    process.kill(-first.pid!, 'SIGKILL');
    await exited(first);
    expect(first.signalCode).toBe('SIGKILL');

    // Killed mid-job: nothing was committed.
    const [during] = await database.primary.select().from(answerMedia).where(eq(answerMedia.answerId, event.answerId));
    expect(during!.status).toBe('processing');
    const marks = () =>
      database.primary
        .select({ n: sql<number>`count(*)::int` })
        .from(processedMessages)
        .where(eq(processedMessages.messageId, `video:${event.answerId}`));
    expect((await marks())[0]!.n).toBe(0);

    const second = startWorker(() => {});
    const done = await eventually(
      'the redelivered job to finish',
      async () => {
        const [m] = await database.primary.select().from(answerMedia).where(eq(answerMedia.answerId, event.answerId));
        return m?.status === 'ready' ? m : undefined;
      },
      120_000,
    );
    second.kill('SIGTERM');
    await exited(second);

    expect(done.attempts).toBe(2);
    expect(await storage.exists(done.videoKey!)).toBe(true);
    expect((await marks())[0]!.n).toBe(1);
    const processed = await database.primary
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.targetId, event.answerId), eq(auditLog.action, 'answer.media.processed')));
    expect(processed).toHaveLength(1);
    const stats = (await broker.stats()).find((q) => q.queue === 'video.processing')!;
    expect(stats).toMatchObject({ depth: 0, deadLetters: 0 });
  });
});

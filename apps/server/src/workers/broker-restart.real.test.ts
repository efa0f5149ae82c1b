// Real tier: RabbitMQ (own virtual host), PostgreSQL, Debian's ffmpeg and the emotion models.
// It restarts RabbitMQ's application, which drops every connection to the server: other real
// tests running at the same moment see a short outage too. The application is started again in
// a `finally`, whatever happens.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmotionService, type EmotionService } from '../emotion/index.ts';
import { AmqpBroker } from '../infra/broker/amqp-broker.ts';
import { PostgresDatabase } from '../infra/db/postgres-database.ts';
import { createScratchDatabase } from '../infra/db/postgres-test-databases.ts';
import {
  answerMedia,
  auditLog,
  consents,
  emotionAnalysis,
  processedMessages,
  videoEmotionRuns,
} from '../infra/db/schema.ts';
import { createLocalStorage, type LocalStorage } from '../infra/storage/local-storage.ts';
import { createLogger } from '../infra/log.ts';
import { REAL, realService } from '../shared/testing/real-services.ts';
import { startWorkers } from './index.ts';
import {
  browserRecording,
  createCandidateSession,
  createInterview,
  createOrg,
  createRecordedAnswer,
  eventually,
} from './testing/worker-fixtures.ts';
import { EMOTION_BATCH_QUEUE, WORKER_TOPOLOGY } from './worker-topology.ts';

const execFileAsync = promisify(execFile);
const rabbitmqctl = (...args: string[]) => execFileAsync('rabbitmqctl', ['-q', ...args]);

let dir: string;
let vhost: string;
let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
let database: PostgresDatabase;
let storage: LocalStorage;
let emotion: EmotionService;
let publisher: AmqpBroker;
let workerBroker: AmqpBroker;
let workers: { stop(): Promise<void> } | undefined;
const brokerErrors: string[] = [];
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  await realService('PostgreSQL', REAL.databaseUrl);
  await realService('RabbitMQ', REAL.amqpUrl);
  dir = await mkdtemp(path.join(tmpdir(), 'parley-broker-restart-'));
  scratch = await createScratchDatabase(REAL.databaseUrl, 'workers');
  database = new PostgresDatabase({ url: scratch.url, poolMax: 4 });
  await database.migrate();
  storage = await createLocalStorage({ root: path.join(dir, 'objects'), masterKey: randomBytes(32) });
  emotion = await createEmotionService();
  vhost = `parley-restart-${randomBytes(4).toString('hex')}`;
  await rabbitmqctl('add_vhost', vhost);
  await rabbitmqctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');
  const u = new URL(REAL.amqpUrl);
  u.pathname = `/${encodeURIComponent(vhost)}`;
  const connect = (name: string) =>
    AmqpBroker.connect({
      url: u.toString(),
      topology: WORKER_TOPOLOGY,
      connectionName: name,
      // Longer than a restart of the application, so publishes wait for it instead of failing.
      unavailableTimeoutMs: 60_000,
      reconnectDelayMs: { initial: 200, max: 2_000 },
      onError: (err) => brokerErrors.push(`${name}: ${(err as Error).message}`),
    });
  publisher = await connect('restart-test-publisher');
  workerBroker = await connect('restart-test-workers');
});

afterAll(async () => {
  await workers?.stop();
  await workerBroker?.close();
  await publisher?.close();
  await emotion?.close();
  await storage?.close();
  await database?.close();
  await scratch?.drop();
  if (vhost) await rabbitmqctl('delete_vhost', vhost).catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

describe('RabbitMQ restart', () => {
  it('workers reconnect after RabbitMQ restarts mid-run, and every job completes exactly once', async () => {
    workers = await startWorkers(
      {
        config: { server: { publicUrl: 'https://parley.test' } as never },
        reports: null,
        database,
        storage,
        broker: workerBroker,
        mail: { send: () => Promise.reject(new Error('no mail here')), ping: async () => {}, close: async () => {} },
        logger: createLogger({
          level: 'info',
          destination: { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
        }),
        emotion,
      },
      { maintenanceIntervalMs: null },
    );
    const { orgId, recruiterId } = await createOrg(database);
    const { interviewId, questionVersionId } = await createInterview(database, orgId, recruiterId);
    const { sessionId } = await createCandidateSession(database, { orgId, interviewId });
    await database.primary
      .insert(consents)
      .values({ orgId, sessionId, kind: 'video_analysis', granted: true, textVersion: 'v1' });
    const bytes = await browserRecording(2);
    const upload = async (position: number) => {
      const event = await createRecordedAnswer(database, storage, {
        orgId,
        sessionId,
        questionVersionId,
        bytes,
        position,
      });
      await publisher.publish('interview.video.uploaded', event, { messageId: `upload:${event.answerId}` });
      return event.answerId;
    };

    const before: string[] = [];
    for (let p = 0; p < 8; p++) before.push(await upload(p));
    const ready = async (ids: string[]) =>
      (
        await database.primary
          .select({ id: answerMedia.answerId })
          .from(answerMedia)
          .where(and(inArray(answerMedia.answerId, ids), eq(answerMedia.status, 'ready')))
      ).length;
    // Mid-run: some recordings done, one being processed, the others queued.
    await eventually(
      'a recording to be in flight after a few are done',
      async () =>
        (await ready(before)) >= 2 &&
        (
          await database.primary
            .select({ id: answerMedia.id })
            .from(answerMedia)
            .where(and(inArray(answerMedia.answerId, before), eq(answerMedia.status, 'processing')))
        ).length === 1,
      60_000,
    );

    try {
      await rabbitmqctl('stop_app');
    } finally {
      await rabbitmqctl('start_app');
    }
    await rabbitmqctl('await_startup');

    // Jobs published after the restart go through the reconnected publisher and workers.
    const after: string[] = [];
    for (let p = 8; p < 12; p++) after.push(await upload(p));
    const all = [...before, ...after];

    await eventually('every recording to be processed', async () => (await ready(all)) === all.length, 120_000);
    const runsDone = async () =>
      (
        await database.primary
          .select()
          .from(videoEmotionRuns)
          .where(and(inArray(videoEmotionRuns.answerId, all), eq(videoEmotionRuns.status, 'done')))
      ).length;
    await eventually('every recording to be analysed', async () => (await runsDone()) === all.length, 120_000);

    // The connections were really lost, and came back: the workers consume again.
    expect(brokerErrors.some((e) => e.startsWith('restart-test-workers: RabbitMQ connection lost'))).toBe(true);
    const stats = await eventually('the queues to drain', async () => {
      const s = await publisher.stats();
      const q = (name: string) => s.find((x) => x.queue === name)!;
      return q('video.processing').depth === 0 && q(EMOTION_BATCH_QUEUE.name).depth === 0 ? s : undefined;
    });
    for (const queue of ['video.processing', EMOTION_BATCH_QUEUE.name]) {
      expect(stats.find((x) => x.queue === queue)).toMatchObject({ depth: 0, consumers: 1, deadLetters: 0 });
    }

    // The job in flight lost its channel before its ack and was delivered again.
    const starts = new Map<string, number>();
    for (const l of logs) {
      if (l.msg === 'job started') starts.set(l.jobId as string, (starts.get(l.jobId as string) ?? 0) + 1);
    }
    expect([...starts.values()].some((n) => n > 1)).toBe(true);

    // Exactly once: one processed-audit entry and one mark per upload; one emotion row per frame.
    const audits = await database.primary
      .select({ id: auditLog.targetId, n: sql<number>`count(*)::int` })
      .from(auditLog)
      .where(and(inArray(auditLog.targetId, all), eq(auditLog.action, 'answer.media.processed')))
      .groupBy(auditLog.targetId);
    expect(audits).toHaveLength(all.length);
    expect(audits.every((a) => a.n === 1)).toBe(true);
    const marks = await database.primary
      .select({ n: sql<number>`count(*)::int` })
      .from(processedMessages)
      .where(
        and(
          eq(processedMessages.consumer, 'video.processing'),
          inArray(
            processedMessages.messageId,
            all.map((id) => `upload:${id}`),
          ),
        ),
      );
    expect(marks[0]!.n).toBe(all.length);
    const media = await database.primary.select().from(answerMedia).where(inArray(answerMedia.answerId, all));
    const runs = await database.primary.select().from(videoEmotionRuns).where(inArray(videoEmotionRuns.answerId, all));
    expect(new Set(runs.map((r) => r.seqSlot)).size).toBe(all.length);
    for (const m of media) {
      const [{ n }] = (await database.primary
        .select({ n: sql<number>`count(*)::int` })
        .from(emotionAnalysis)
        .where(and(eq(emotionAnalysis.answerId, m.answerId), eq(emotionAnalysis.source, 'video')))) as [{ n: number }];
      expect(n).toBe(m.frameCount);
      expect(runs.find((r) => r.answerId === m.answerId)).toMatchObject({
        framesTotal: m.frameCount,
        framesDone: m.frameCount,
      });
    }
  });
});

// Real tier: Debian's ffmpeg cuts a real face video into a browser-like WebM, video processing
// extracts its frames, and the emotion models analyse them (embedded database, storage and bus).
import { and, asc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmotionService, type EmotionService } from '../../emotion/index.ts';
import type { MemoryBroker } from '../../infra/broker/memory-broker.ts';
import { answerMedia, consents, emotionAnalysis, videoEmotionRuns } from '../../infra/db/schema.ts';
import { createLogger } from '../../infra/log.ts';
import { startWorkers } from '../index.ts';
import {
  browserRecording,
  createCandidateSession,
  createInterview,
  createOrg,
  createRecordedAnswer,
  embeddedFixtures,
  eventually,
  memoryBroker,
  type Fixtures,
} from '../testing/worker-fixtures.ts';
import { VIDEO_PROCESSED, type TVideoProcessedEvent } from './analyze-recording.job.ts';
import type { RecordingSummary } from './recording-summary.ts';
import { SLOT_SIZE } from './video-emotion.repository.ts';

let f: Fixtures;
let broker: MemoryBroker;
let service: EmotionService;
let workers: { stop(): Promise<void> };
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  f = await embeddedFixtures();
  broker = memoryBroker();
  service = await createEmotionService();
  const logger = createLogger({
    level: 'info',
    destination: { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
  });
  workers = await startWorkers(
    {
      config: { server: { publicUrl: 'https://parley.test' } as never },
      reports: null,
      database: f.database,
      storage: f.storage,
      broker,
      mail: { send: () => Promise.reject(new Error('no mail here')), ping: async () => {}, close: async () => {} },
      logger,
      emotion: service,
    },
    { maintenanceIntervalMs: null },
  );
});

afterAll(async () => {
  await workers.stop();
  await broker.close();
  await service.close();
  await f.close();
});

async function session() {
  const { orgId, recruiterId } = await createOrg(f.database);
  const { interviewId, questionVersionId } = await createInterview(f.database, orgId, recruiterId);
  const { sessionId } = await createCandidateSession(f.database, { orgId, interviewId });
  await f.database.primary
    .insert(consents)
    .values({ orgId, sessionId, kind: 'video_analysis', granted: true, textVersion: 'v1' });
  return { orgId, sessionId, questionVersionId };
}

async function upload(
  s: Awaited<ReturnType<typeof session>>,
  opts: { seconds?: number; clip?: string; position?: number; videoAnalysis?: boolean } = {},
) {
  const event = await createRecordedAnswer(f.database, f.storage, {
    ...s,
    bytes: await browserRecording(opts.seconds ?? 6, opts.clip),
    position: opts.position,
    videoAnalysis: opts.videoAnalysis,
  });
  await broker.publish('interview.video.uploaded', event);
  return event;
}

const runOf = async (answerId: string) =>
  (await f.database.primary.select().from(videoEmotionRuns).where(eq(videoEmotionRuns.answerId, answerId)))[0];
const finished = (answerId: string) =>
  eventually(
    'batch emotion analysis to finish',
    async () => {
      const run = await runOf(answerId);
      return run && run.status !== 'running' ? run : undefined;
    },
    120_000,
  );
const rowsOf = (answerId: string) =>
  f.database.primary
    .select()
    .from(emotionAnalysis)
    .where(and(eq(emotionAnalysis.answerId, answerId), eq(emotionAnalysis.source, 'video')))
    .orderBy(asc(emotionAnalysis.frameSeq));
const mediaOf = async (answerId: string) =>
  (await f.database.primary.select().from(answerMedia).where(eq(answerMedia.answerId, answerId)))[0]!;

describe('batch emotion analysis of a recording (emotion.batch)', () => {
  it('analyses every extracted frame of a real face recording, records one video row per frame, the blinks and a summary, and reports progress', async () => {
    const event = await upload(await session(), { seconds: 8 });
    const run = await finished(event.answerId);
    const media = await mediaOf(event.answerId);

    // 10 frames/s of an 8-second recording.
    expect(media.frameCount).toBeGreaterThanOrEqual(75);
    expect(media.frameCount).toBeLessThanOrEqual(85);
    expect(run).toMatchObject({
      status: 'done',
      error: null,
      framesTotal: media.frameCount,
      framesDone: media.frameCount,
      framesPrefix: media.framesPrefix,
      framesPerSecond: 10,
      seqSlot: 0,
      attempts: 1,
    });
    const rows = await rowsOf(event.answerId);
    expect(rows).toHaveLength(media.frameCount);
    expect(rows.map((r) => r.frameSeq)).toEqual(rows.map((_, i) => i));
    // A frontal face throughout, in every frame.
    expect(rows.every((r) => r.faceDetected && r.emotion !== null)).toBe(true);
    const ts = rows.map((r) => r.frameTs.getTime());
    expect(ts[1]! - ts[0]!).toBe(100);
    expect(ts.every((t, i) => i === 0 || t > ts[i - 1]!)).toBe(true);

    const summary = run.summary as unknown as RecordingSummary;
    expect(summary.frames).toBe(media.frameCount);
    expect(summary.faces).toMatchObject({ framesWithFace: media.frameCount, share: 1, maxInFrame: 1, noFaceMs: 0 });
    // Resting blink rate is ≈ 8–21 per minute; the blinks are credited to frames, once each.
    const blinkSum = rows.reduce((s, r) => s + r.blinkCount, 0);
    expect(blinkSum).toBe(summary.blinks.count);
    expect(summary.blinks.count).toBeGreaterThanOrEqual(1);
    expect(summary.blinks.count).toBeLessThanOrEqual(4);
    const shares = Object.values(summary.expressions.shares!);
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
    const last = rows[rows.length - 1]!.metadata as { blinks: { session: number }; face: { ear: { mean: number } } };
    expect(last.blinks.session).toBe(summary.blinks.count);
    expect(last.face.ear.mean).toBeGreaterThan(0.2);

    // Progress was written as the analysis went, in steps of a twentieth.
    const progress = logs
      .filter((l) => l.msg === 'analysing recording' && l.jobId && l.total === media.frameCount)
      .map((l) => l.done as number);
    expect(progress.length).toBeGreaterThanOrEqual(10);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it('analyses a recording once when video processing announces it again', async () => {
    const event = await upload(await session());
    const run = await finished(event.answerId);
    const media = await mediaOf(event.answerId);
    const before = await rowsOf(event.answerId);
    const announced: TVideoProcessedEvent = {
      orgId: event.orgId,
      sessionId: event.sessionId,
      answerId: event.answerId,
      sourceKey: event.storageKey,
      framesPrefix: media.framesPrefix,
      frameCount: media.frameCount,
      framesPerSecond: 10,
    };
    const seen = logs.length;
    await broker.publish(VIDEO_PROCESSED, announced, { messageId: 'again-1' });
    // The upload delivered twice too: video processing republishes, analysis stays once.
    await broker.publish('interview.video.uploaded', event, { messageId: 'upload-again' });
    await eventually('both duplicates to be recognised', async () =>
      logs.slice(seen).filter((l) => l.msg === 'recording already analysed').length >= 2 ? true : undefined,
    );
    const after = await runOf(event.answerId);
    expect(after).toMatchObject({ status: 'done', attempts: 1, finishedAt: run.finishedAt });
    expect((await rowsOf(event.answerId)).map((r) => r.id)).toEqual(before.map((r) => r.id));
  });

  it('gives each recorded answer of a session its own frame sequence slot', async () => {
    const s = await session();
    const first = await upload(s, { seconds: 3, position: 0 });
    const second = await upload(s, { seconds: 3, position: 1, clip: 'happy__happy-1.mp4' });
    const [a, b] = [await finished(first.answerId), await finished(second.answerId)];
    expect([a.seqSlot, b.seqSlot].sort()).toEqual([0, 1]);
    const rowsA = await rowsOf(first.answerId);
    const rowsB = await rowsOf(second.answerId);
    expect(rowsA.length).toBe(a.framesTotal);
    expect(rowsB.length).toBe(b.framesTotal);
    expect(rowsB.every((r) => Math.floor(r.frameSeq / SLOT_SIZE) === b.seqSlot)).toBe(true);
    const [{ n }] = (await f.database.primary
      .select({ n: sql<number>`count(*)::int` })
      .from(emotionAnalysis)
      .where(and(eq(emotionAnalysis.sessionId, s.sessionId), eq(emotionAnalysis.source, 'video')))) as [{ n: number }];
    expect(n).toBe(a.framesTotal + b.framesTotal);
    expect((b.summary as unknown as RecordingSummary).expressions.dominant).toBe('happy');
  });

  it('extracts and analyses nothing without consent to video analysis', async () => {
    const event = await upload(await session(), { seconds: 2, videoAnalysis: false });
    await eventually('video processing to finish', async () => (await mediaOf(event.answerId))?.status === 'ready');
    await eventually('the announcement to be consumed', async () =>
      logs.some((l) => l.msg === 'no frames: the candidate did not consent to video analysis'),
    );
    expect(await runOf(event.answerId)).toBeUndefined();
    expect(await rowsOf(event.answerId)).toEqual([]);
  });

  it('skips a recording whose consent was withdrawn after the upload', async () => {
    const s = await session();
    const event = await upload(s, { seconds: 2 });
    await f.database.primary
      .insert(consents)
      .values({ orgId: s.orgId, sessionId: s.sessionId, kind: 'video_analysis', granted: false, textVersion: 'v1' });
    const run = await finished(event.answerId);
    expect(run).toMatchObject({ status: 'skipped', error: 'no granted video_analysis consent', summary: null });
    expect(await rowsOf(event.answerId)).toEqual([]);
  });
});

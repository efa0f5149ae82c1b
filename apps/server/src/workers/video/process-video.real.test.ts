import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MemoryBroker } from '../../infra/broker/memory-broker.ts';
import { answerMedia, answers, auditLog } from '../../infra/db/schema.ts';
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
  silentLogger,
  type Fixtures,
} from '../testing/worker-fixtures.ts';
import { probe } from './ffmpeg.ts';

// Runs Debian's ffmpeg on a real face video with real speech, recorded as a browser would (VP8/Opus WebM).
let f: Fixtures;
let broker: MemoryBroker;
let workers: { stop(): Promise<void> };
let scratch: string;

beforeAll(async () => {
  f = await embeddedFixtures();
  broker = memoryBroker();
  scratch = await mkdtemp(path.join(tmpdir(), 'parley-video-test-'));
  workers = await startWorkers(
    {
      config: { server: { publicUrl: 'https://parley.test' } as never },
      reports: null,
      database: f.database,
      storage: f.storage,
      broker,
      mail: { send: () => Promise.reject(new Error('no mail here')), ping: async () => {}, close: async () => {} },
      logger: silentLogger(),
    },
    { maintenanceIntervalMs: null },
  );
});

afterAll(async () => {
  await workers.stop();
  await broker.close();
  await f.close();
  await rm(scratch, { recursive: true, force: true });
});

async function recordedAnswer(bytes: Uint8Array, videoAnalysis = true) {
  const { orgId, recruiterId } = await createOrg(f.database);
  const { interviewId, questionVersionId } = await createInterview(f.database, orgId, recruiterId);
  const { sessionId } = await createCandidateSession(f.database, { orgId, interviewId });
  return createRecordedAnswer(f.database, f.storage, { orgId, sessionId, questionVersionId, bytes, videoAnalysis });
}

const mediaOf = async (answerId: string) =>
  (await f.database.primary.select().from(answerMedia).where(eq(answerMedia.answerId, answerId)))[0];
const settled = (answerId: string) =>
  eventually(
    'video processing to settle',
    async () => {
      const m = await mediaOf(answerId);
      return m && m.status !== 'processing' ? m : undefined;
    },
    90_000,
  );
const audits = (answerId: string, action: string) =>
  f.database.primary
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.targetId, answerId), eq(auditLog.action, action)));

async function storedFile(key: string, name: string): Promise<{ file: string; bytes: Uint8Array }> {
  const { bytes } = await f.storage.get(key);
  const file = path.join(scratch, `${Date.now()}-${name}`);
  await writeFile(file, bytes);
  return { file, bytes };
}

describe('video.processing', () => {
  it('turns a browser WebM into a fast-start H.264/AAC MP4, a poster, 16 kHz audio and frames, recorded on the answer', async () => {
    const recording = await browserRecording(4);
    const sourceFile = path.join(scratch, 'source.webm');
    await writeFile(sourceFile, recording);
    const source = (await probe(sourceFile)).video!;
    const event = await recordedAnswer(recording);
    await broker.publish('interview.video.uploaded', event);
    const media = await settled(event.answerId);

    expect(media).toMatchObject({ status: 'ready', error: null, sourceKey: event.storageKey });
    expect([media.width, media.height]).toEqual([source.width, source.height]);
    const mp4 = await storedFile(media.videoKey!, 'video.mp4');
    const probed = await probe(mp4.file);
    expect(probed.video?.codec).toBe('h264');
    expect(probed.audio?.codec).toBe('aac');
    expect(probed.durationMs).toBeGreaterThan(3_500);
    // Fast start: the index (moov) comes before the media data (mdat).
    const text = Buffer.from(mp4.bytes).toString('latin1');
    expect(text.indexOf('moov')).toBeGreaterThan(0);
    expect(text.indexOf('moov')).toBeLessThan(text.indexOf('mdat'));

    const poster = await f.storage.get(media.posterKey!);
    expect(poster.contentType).toBe('image/jpeg');
    expect([...poster.bytes.slice(0, 3)]).toEqual([0xff, 0xd8, 0xff]);

    const audio = await storedFile(media.audioKey!, 'audio.wav');
    expect(Buffer.from(audio.bytes.slice(0, 4)).toString('latin1')).toBe('RIFF');
    expect((await probe(audio.file)).audio?.codec).toBe('pcm_s16le');

    const frames = await f.storage.list(media.framesPrefix!);
    expect(frames.length).toBe(media.frameCount);
    // 10 frames per second of a 4-second recording.
    expect(media.frameCount).toBeGreaterThanOrEqual(38);
    expect(media.frameCount).toBeLessThanOrEqual(42);

    const [answer] = await f.database.primary.select().from(answers).where(eq(answers.id, event.answerId));
    expect(answer!.durationMs).toBe(media.durationMs);
    expect(await audits(event.answerId, 'answer.media.processed')).toHaveLength(1);
  });

  it('extracts no frames when the candidate did not consent to video analysis', async () => {
    const event = await recordedAnswer(await browserRecording(2), false);
    await broker.publish('interview.video.uploaded', event);
    const media = await settled(event.answerId);
    expect(media).toMatchObject({ status: 'ready', framesPrefix: null, frameCount: 0 });
    expect(media.videoKey).not.toBeNull();
    expect(await f.storage.list(`${event.storageKey.replace(/\.webm$/, '')}/derived/frames/`)).toEqual([]);
  });

  it('processes a recording once when the upload event is delivered twice', async () => {
    const event = await recordedAnswer(await browserRecording(2));
    await broker.publish('interview.video.uploaded', event, { messageId: 'upload-a' });
    await settled(event.answerId);
    await broker.publish('interview.video.uploaded', event, { messageId: 'upload-b' });
    await broker.publish('interview.video.uploaded', event, { messageId: 'upload-a' });
    await eventually(
      'the queue to drain',
      async () => (await broker.stats()).find((q) => q.queue === 'video.processing')!.depth === 0,
    );
    // A later message on the same queue is processed only after the duplicates.
    const marker = await recordedAnswer(await browserRecording(2));
    await broker.publish('interview.video.uploaded', marker);
    await settled(marker.answerId);
    expect(await audits(event.answerId, 'answer.media.processed')).toHaveLength(1);
    expect((await mediaOf(event.answerId))!.attempts).toBe(1);
  });

  it('records a corrupt upload as failed, once, without retrying or dead-lettering it', async () => {
    const garbage = new Uint8Array(4096).map((_, i) => (i * 7919) % 251);
    const event = await recordedAnswer(garbage);
    await broker.publish('interview.video.uploaded', event);
    const media = await settled(event.answerId);
    expect(media.status).toBe('failed');
    expect(media.error).toMatch(/cannot be decoded|neither video nor audio/);
    expect(media.attempts).toBe(1);
    expect(media.videoKey).toBeNull();
    expect(await audits(event.answerId, 'answer.media.failed')).toHaveLength(1);
    const stats = (await broker.stats()).find((q) => q.queue === 'video.processing')!;
    expect(stats.deadLetters).toBe(0);
  });

  it('records a truncated upload (cut mid-stream, as a closed tab leaves it) as failed', async () => {
    const full = await browserRecording(4);
    const event = await recordedAnswer(full.slice(0, Math.floor(full.byteLength / 3)));
    await broker.publish('interview.video.uploaded', event);
    const media = await settled(event.answerId);
    expect(media).toMatchObject({ status: 'failed', attempts: 1 });
    expect(media.error).toMatch(/truncated/);
    expect(await f.storage.list(`${event.storageKey.replace(/\.webm$/, '')}/derived/`)).toEqual([]);
  });
});

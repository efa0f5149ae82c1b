/**
 * The emotion consumer's behaviour, run by every tier: in-memory broker + PGlite + in-memory
 * cache (`emotion.consumer.test.ts`) and RabbitMQ + PostgreSQL + Redis
 * (`emotion.consumer.real.test.ts`). Frames are real face photos from the shared data, stored
 * through the storage port as the realtime role would.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { EMOTION_EVENTS, ZEmotionAnalyzed, type TEmotionAnalyzed, type TFrameCaptured } from '@parley/contracts';
import { and, eq } from 'drizzle-orm';
import { Histogram } from 'prom-client';
import type Sharp from 'sharp';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Broker, Topology } from '../infra/broker/broker.ts';
import { INTERVIEW_EVENTS_TOPOLOGY } from '../infra/broker/topology.ts';
import type { Cache } from '../infra/cache/cache.ts';
import type { Database, Db } from '../infra/db/database.ts';
import { emotionAnalysis, processedMessages } from '../infra/db/schema.ts';
import { createLogger, type Logger } from '../infra/log.ts';
import type { Storage } from '../infra/storage/storage.ts';
import { startEmotionConsumer, type EmotionConsumer, type EmotionRowMetadata } from './emotion.consumer.ts';
import type { EmotionService } from './emotion.service.ts';
import { detectBlinks, type EarSample } from './session/blink-detector.ts';
import { LiveBlinkCounter } from './session/live-blink-counter.ts';
import { seedAnalysableSession } from './testing/seed-session.ts';
import { readSharedData, sharedDataPath } from './testing/shared-data.ts';
import { readVideoFrames } from './video/video-frames.ts';

const sharp = createRequire(import.meta.url)('sharp') as typeof Sharp;

/**
 * The real topology's `emotion.analysis` queue under its own names (queue names are global on a
 * RabbitMQ server), with short retry delays so dead-lettering takes milliseconds, plus a queue
 * standing in for the realtime role that collects what the consumer publishes.
 */
export function consumerTestTopology(id = randomUUID().slice(0, 8)): {
  topology: Topology;
  queue: string;
  analyzedQueue: string;
} {
  const spec = INTERVIEW_EVENTS_TOPOLOGY.queues.find((q) => q.name === 'emotion.analysis')!;
  const queue = `parley.test.${id}.emotion.analysis`;
  const analyzedQueue = `parley.test.${id}.emotion.analyzed`;
  return {
    queue,
    analyzedQueue,
    topology: {
      exchange: `parley.test.${id}`,
      queues: [
        { ...spec, name: queue, backoffMs: 5, maxBackoffMs: 20 },
        { name: analyzedQueue, bindings: [EMOTION_EVENTS.emotionAnalyzed], maxAttempts: 1, backoffMs: 0 },
      ],
    },
  };
}

export interface ConsumerTestEnv {
  database: Database;
  storage: Storage;
  service: EmotionService;
  /** A broker with `consumerTestTopology()` declared, fresh for one test. */
  newBroker(): Promise<{ broker: Broker; queue: string; analyzedQueue: string; dispose: () => Promise<void> }>;
  newCache(): Promise<Cache>;
}

export function emotionConsumerCases(tier: string, env: () => ConsumerTestEnv): void {
  let database: Database;
  let db: Db;
  let storage: Storage;
  let service: EmotionService;
  let happyJpeg: Uint8Array;
  let neutralJpeg: Uint8Array;
  let blankJpeg: Uint8Array;

  beforeAll(async () => {
    ({ database, storage, service } = env());
    db = database.primary;
    happyJpeg = await readSharedData('faces/photos/happy__web3_jpeg.jpeg');
    neutralJpeg = await readSharedData('faces/photos/neutral__web3_jpeg.jpeg');
    blankJpeg = new Uint8Array(
      await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 120, g: 130, b: 140 } } })
        .jpeg()
        .toBuffer(),
    );
  });

  const seedSession = (opts?: Parameters<typeof seedAnalysableSession>[1]) => seedAnalysableSession(db, opts);

  let seqCounter = 0;
  /** Stores a frame as the realtime role would and returns the message it would publish. */
  async function storedFrame(
    s: { orgId: string; sessionId: string },
    bytes: Uint8Array,
    overrides: Partial<TFrameCaptured> = {},
  ): Promise<TFrameCaptured> {
    const seq = overrides.seq ?? ++seqCounter;
    const storageKey = `orgs/${s.orgId}/sessions/${s.sessionId}/frames/${String(seq).padStart(6, '0')}.jpg`;
    await storage.put(storageKey, bytes, 'image/jpeg');
    return {
      orgId: s.orgId,
      sessionId: s.sessionId,
      frameId: randomUUID(),
      seq,
      capturedAt: 1_750_000_000_000 + seq * 100,
      storageKey,
      ...overrides,
    };
  }

  async function rowsOf(sessionId: string) {
    return db.select().from(emotionAnalysis).where(eq(emotionAnalysis.sessionId, sessionId));
  }

  describe(`emotion consumer (${tier})`, () => {
    let broker: Broker;
    let queue: string;
    let analyzedQueue: string;
    let disposeBroker: () => Promise<void>;
    let consumer: EmotionConsumer | undefined;
    let events: TEmotionAnalyzed[];
    let logLines: { level: string; msg: string; err?: { code?: string } }[];
    let logger: Logger;
    let cache: Cache;

    async function start(overrides: { broker?: Broker; storage?: Storage } = {}) {
      consumer = await startEmotionConsumer({
        broker: overrides.broker ?? broker,
        database,
        storage: overrides.storage ?? storage,
        logger,
        service,
        cache,
        options: { queue },
      });
    }

    beforeEach(async () => {
      ({ broker, queue, analyzedQueue, dispose: disposeBroker } = await env().newBroker());
      cache = await env().newCache();
      events = [];
      logLines = [];
      logger = createLogger({
        level: 'debug',
        destination: new Writable({
          write(chunk: Buffer, _enc, done) {
            logLines.push(JSON.parse(chunk.toString()) as (typeof logLines)[number]);
            done();
          },
        }),
      });
      await broker.consume(analyzedQueue, async (m) => {
        events.push(ZEmotionAnalyzed.parse(m.payload));
      });
    });

    afterEach(async () => {
      await consumer?.stop();
      consumer = undefined;
      await disposeBroker();
      await cache.close();
    });

    it('analyses a stored face photo into one row with landmarks, EAR, head pose and quality, and publishes the summary', async () => {
      await start();
      const pushed: unknown[] = [];
      await cache.subscribe(EMOTION_EVENTS.emotionAnalyzed, (m) => pushed.push(JSON.parse(m)));
      const s = await seedSession();
      const frame = await storedFrame(s, happyJpeg);
      await broker.publish(EMOTION_EVENTS.frameCaptured, frame);

      const event = await until('the analysed event', () => events[0]);
      const [row] = await rowsOf(s.sessionId);
      expect(row).toMatchObject({
        orgId: s.orgId,
        source: 'stream',
        frameSeq: frame.seq,
        faceDetected: true,
        emotion: 'happy',
        blinkCount: 0,
      });
      expect(row!.frameTs.getTime()).toBe(frame.capturedAt);
      const meta = row!.metadata as unknown as EmotionRowMetadata;
      expect(meta).toMatchObject({ v: 1, frameId: frame.frameId, status: 'ok', faceCount: 1, detectorRan: true });
      expect(meta.face!.ear.mean).toBeGreaterThan(0.2);
      expect(Math.abs(meta.face!.headPose.yaw)).toBeLessThan(30);
      expect(meta.face!.quality.ok).toBe(true);
      const k = meta.face!.keypoints!;
      // The eyes sit above the nose, the nose above the chin; the box contains them all.
      expect(k.rightEyeOuter[1]).toBeLessThan(k.noseTip[1]);
      expect(k.noseTip[1]).toBeLessThan(k.chin[1]);
      expect(k.noseTip[0]).toBeGreaterThan(meta.face!.box.x);
      expect(k.noseTip[0]).toBeLessThan(meta.face!.box.x + meta.face!.box.width);

      expect(event).toMatchObject({
        analysisId: row!.id,
        sessionId: s.sessionId,
        frameId: frame.frameId,
        seq: frame.seq,
        status: 'ok',
        faceDetected: true,
        faceCount: 1,
        emotion: 'happy',
        sessionBlinks: 0,
      });
      expect(event.confidence).toBeCloseTo(row!.confidence!, 5);
      // The event goes out on the broker before the cache write: it can arrive first.
      const cached = await until(
        'the cached result',
        async () => (await cache.get(`emotion:${s.sessionId}:${frame.capturedAt}`)) ?? undefined,
      );
      expect(JSON.parse(cached)).toEqual(event);
      await until('the pub/sub push', () => pushed[0]);
      expect(pushed).toEqual([event]);
    });

    it('records a redelivered message once, and republishes the stored result', async () => {
      await start();
      const s = await seedSession();
      const frame = await storedFrame(s, neutralJpeg);
      await broker.publish(EMOTION_EVENTS.frameCaptured, frame, { messageId: 'frame-msg-1' });
      await until('first event', () => events[0]);
      // At-least-once delivery: the same message again, then the client re-sending the same frame.
      await broker.publish(EMOTION_EVENTS.frameCaptured, frame, { messageId: 'frame-msg-1' });
      await broker.publish(EMOTION_EVENTS.frameCaptured, { ...frame, frameId: randomUUID() });
      await until('three events', () => events.length === 3);

      const rows = await rowsOf(s.sessionId);
      expect(rows).toHaveLength(1);
      expect(new Set(events.map((e) => e.analysisId))).toEqual(new Set([rows[0]!.id]));
      const processed = await db
        .select()
        .from(processedMessages)
        .where(and(eq(processedMessages.consumer, 'emotion.analysis'), eq(processedMessages.messageId, 'frame-msg-1')));
      expect(processed).toHaveLength(1);
    });

    it('survives a crash between commit and publish: the broker redelivers, the row stays single, the event goes out', async () => {
      let failures = 1;
      // The same broker, except that the first result publish fails as a dropped connection would.
      const flaky: Broker = {
        async publish(routingKey, payload, options) {
          if (routingKey === EMOTION_EVENTS.emotionAnalyzed && failures-- > 0) throw new Error('connection lost');
          return broker.publish(routingKey, payload, options);
        },
        consume: (queue, handler, options) => broker.consume(queue, handler, options),
        stats: () => broker.stats(),
        retryDead: (queue) => broker.retryDead(queue),
        ping: () => broker.ping(),
        close: () => broker.close(),
      };
      await start({ broker: flaky });
      const s = await seedSession();
      const frame = await storedFrame(s, happyJpeg);
      await broker.publish(EMOTION_EVENTS.frameCaptured, frame);

      const event = await until('the event after redelivery', () => events[0]);
      const rows = await rowsOf(s.sessionId);
      expect(rows).toHaveLength(1);
      expect(event.analysisId).toBe(rows[0]!.id);
      expect(logLines.some((l) => l.level === 'warn' && /retries/.test(l.msg))).toBe(true);
    });

    it('dead-letters a malformed message, an unknown session and a missing frame, and keeps consuming', async () => {
      await start();
      const s = await seedSession();
      await broker.publish(EMOTION_EVENTS.frameCaptured, { sessionId: 'not-a-uuid', seq: -1 });
      await broker.publish(
        EMOTION_EVENTS.frameCaptured,
        await storedFrame({ ...s, sessionId: randomUUID() }, happyJpeg),
      );
      const ghost = await storedFrame(s, happyJpeg);
      await storage.delete(ghost.storageKey);
      await broker.publish(EMOTION_EVENTS.frameCaptured, ghost);

      await until('three dead letters', async () => {
        const stats = await broker.stats();
        return stats.find((q) => q.queue === queue)!.deadLetters === 3;
      });
      const good = await storedFrame(s, happyJpeg);
      await broker.publish(EMOTION_EVENTS.frameCaptured, good);
      const event = await until('the good frame', () => events.find((e) => e.seq === good.seq));
      expect(event.faceDetected).toBe(true);
      expect(await rowsOf(s.sessionId)).toHaveLength(1);
      const codes = logLines.filter((l) => l.level === 'warn').map((l) => l.err?.code);
      expect(codes).toEqual(expect.arrayContaining(['VALIDATION_FAILED', 'NOT_FOUND']));
    });

    it('records a frame without a face as face_count 0, and a corrupt frame as an error row', async () => {
      await start();
      const s = await seedSession();
      const empty = await storedFrame(s, blankJpeg);
      const corrupt = await storedFrame(s, happyJpeg.subarray(0, 500));
      await broker.publish(EMOTION_EVENTS.frameCaptured, empty);
      await broker.publish(EMOTION_EVENTS.frameCaptured, corrupt);
      await until('two events', () => events.length === 2);

      const rows = await rowsOf(s.sessionId);
      const bySeq = new Map(rows.map((r) => [r.frameSeq, r]));
      const noFace = bySeq.get(empty.seq)!;
      expect(noFace).toMatchObject({ faceDetected: false, emotion: null, confidence: null });
      expect(noFace.metadata).toMatchObject({ status: 'ok', faceCount: 0, face: null });
      const broken = bySeq.get(corrupt.seq)!;
      expect(broken).toMatchObject({ faceDetected: false, emotion: null });
      expect(broken.metadata).toMatchObject({ status: 'error', error: { code: 'DECODE_FAILED' } });
      expect(events.find((e) => e.seq === empty.seq)).toMatchObject({ status: 'ok', faceCount: 0, emotion: null });
      expect(events.find((e) => e.seq === corrupt.seq)).toMatchObject({ status: 'error', errorCode: 'DECODE_FAILED' });
    });

    it('analyses a session’s frames in arrival order even when a later frame’s bytes load first', async () => {
      const s = await seedSession();
      const first = await storedFrame(s, happyJpeg);
      const second = await storedFrame(s, happyJpeg);
      let releaseFirst: () => void = () => {};
      const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
      // The same storage, except that the first frame's read completes only after the second's.
      const skewed: Storage = {
        async get(key) {
          if (key === first.storageKey) await firstHeld;
          const object = await storage.get(key);
          if (key === second.storageKey) releaseFirst();
          return object;
        },
        put: (key, bytes, type) => storage.put(key, bytes, type),
        putStream: (key, body, type) => storage.putStream(key, body, type),
        getRange: (key, pick) => storage.getRange(key, pick),
        exists: (key) => storage.exists(key),
        delete: (key) => storage.delete(key),
        list: (prefix) => storage.list(prefix),
        ping: () => storage.ping(),
        close: () => storage.close(),
      };
      await start({ storage: skewed });
      await broker.publish(EMOTION_EVENTS.frameCaptured, first);
      await broker.publish(EMOTION_EVENTS.frameCaptured, second);
      await until('two events', () => events.length === 2);
      const rows = (await rowsOf(s.sessionId)).sort((x, y) => x.frameSeq - y.frameSeq);
      // Analysed out of order, the later frame would find no face to follow and the earlier
      // one would be out of order: both would come from the detector.
      expect(rows.map((r) => (r.metadata as unknown as EmotionRowMetadata).face?.tracked)).toEqual([false, true]);
    });

    it('tracks each session separately: the second frame of each session reuses that session’s face', async () => {
      await start();
      const a = await seedSession();
      const b = await seedSession();
      const frames = [
        await storedFrame(a, happyJpeg),
        await storedFrame(b, neutralJpeg),
        await storedFrame(a, happyJpeg),
        await storedFrame(b, neutralJpeg),
      ];
      for (const f of frames) await broker.publish(EMOTION_EVENTS.frameCaptured, f);
      await until('four events', () => events.length === 4);
      for (const s of [a, b]) {
        const rows = (await rowsOf(s.sessionId)).sort((x, y) => x.frameSeq - y.frameSeq);
        const meta = rows.map((r) => r.metadata as unknown as EmotionRowMetadata);
        expect(meta.map((m) => m.face?.tracked)).toEqual([false, true]);
      }
      expect(consumer!.trackedSessions).toBe(2);
    });

    it('analyses a device-check frame of a consented session that has not started yet', async () => {
      await start();
      const s = await seedSession({ status: 'consented' });
      await broker.publish(EMOTION_EVENTS.frameCaptured, await storedFrame(s, happyJpeg));
      const event = await until('the analysed event', () => events[0]);
      expect(event).toMatchObject({ sessionId: s.sessionId, faceDetected: true, faceCount: 1 });
      expect(await rowsOf(s.sessionId)).toHaveLength(1);
    });

    it('two consumers sharing a session’s frames count its blinks once, as one consumer seeing every frame would', async () => {
      // A real face video at 10 frames/s (the rate blink analysis runs at): 3 blinks in 17 s.
      const s = await seedSession();
      const frames: TFrameCaptured[] = [];
      for await (const f of readVideoFrames(sharedDataPath('videos/neutral__neutral-1.mp4'), { fps: 10 })) {
        const jpeg = await sharp(Buffer.from(f.image.data), {
          raw: { width: f.image.width, height: f.image.height, channels: 3 },
        })
          .jpeg({ quality: 90 })
          .toBuffer();
        frames.push(
          await storedFrame(s, new Uint8Array(jpeg), {
            seq: 100_000 + f.index,
            capturedAt: 1_750_000_000_000 + f.index * 100,
          }),
        );
      }
      // Two consumer processes on the one queue, sharing the database and the cache; each counts
      // the frames it analyses.
      const analysed = [0, 1].map(
        (i) =>
          new Histogram({
            name: `frames_${i}`,
            help: 'frames',
            labelNames: ['model', 'stage'] as const,
            registers: [],
          }),
      );
      const consumers = await Promise.all(
        analysed.map((histogram) =>
          startEmotionConsumer({
            broker,
            database,
            storage,
            logger,
            service,
            cache,
            metrics: { modelInferenceSeconds: histogram },
            options: { queue },
          }),
        ),
      );
      try {
        for (const f of frames) await broker.publish(EMOTION_EVENTS.frameCaptured, f);
        await until('every frame', () => events.length >= frames.length);
      } finally {
        await Promise.all(consumers.map((c) => c.stop()));
      }
      const perConsumer = await Promise.all(
        analysed.map(async (h) => (await h.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0),
      );
      expect(perConsumer.every((n) => n > frames.length / 5)).toBe(true);

      const rows = (await rowsOf(s.sessionId)).sort((a, b) => a.frameTs.getTime() - b.frameTs.getTime());
      expect(rows).toHaveLength(frames.length);
      const series: EarSample[] = rows.map((r) => ({
        t: r.frameTs.getTime(),
        ear: (r.metadata as unknown as EmotionRowMetadata).face?.ear.mean ?? null,
      }));
      // What one process fed every frame's reading in order counts; the batch detector agrees.
      const single = new LiveBlinkCounter();
      for (const e of series) single.add(e);
      expect(single.total).toBeGreaterThanOrEqual(2);
      expect(detectBlinks(series).count).toBe(single.total);

      expect(rows.reduce((sum, r) => sum + r.blinkCount, 0)).toBe(single.total);
      expect(Math.max(...events.map((e) => e.sessionBlinks))).toBe(single.total);
    });

    it('analyses and keeps nothing without the candidate’s consent or under policy off', async () => {
      await start();
      const noConsent = await seedSession({ consent: false });
      const policyOff = await seedSession({ orgPolicy: 'off' });
      await broker.publish(EMOTION_EVENTS.frameCaptured, await storedFrame(noConsent, happyJpeg));
      await broker.publish(EMOTION_EVENTS.frameCaptured, await storedFrame(policyOff, happyJpeg));
      await until('both frames settled', () =>
        logLines.filter((l) => /no consent or policy off/.test(l.msg)).length === 2 ? true : undefined,
      );
      const stats = (await broker.stats()).find((q) => q.queue === queue)!;
      expect(stats).toMatchObject({ depth: 0, deadLetters: 0 });
      expect(await rowsOf(noConsent.sessionId)).toEqual([]);
      expect(await rowsOf(policyOff.sessionId)).toEqual([]);
      expect(events).toEqual([]);
    });
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  for (let i = 0; i < 2_000; i++) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`gave up waiting for ${what}`);
}

import { createHash } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import {
  EmotionRepository,
  toEmotionRow,
  type EmotionService,
  type FrameAnalysis,
  type NewEmotionAnalysis,
  type StillFrame,
} from '../../emotion/index.ts';
import type { Broker } from '../../infra/broker/broker.ts';
import type { Database } from '../../infra/db/database.ts';
import type { Storage } from '../../infra/storage/storage.ts';
import { defineJob, PermanentJobError, type JobContext } from '../job.ts';
import { markProcessed } from '../job-runner.ts';
import { AnswerMediaRepository } from '../video/answer-media.repository.ts';
import { dlqOf, EMOTION_BATCH_QUEUE, retryPolicyOf } from '../worker-topology.ts';
import { summarizeRecording } from './recording-summary.ts';
import { SLOT_SIZE, VideoEmotionRepository, type VideoEmotionRun } from './video-emotion.repository.ts';

/** Published by `video.processing` once a recording's results are committed. */
export const VIDEO_PROCESSED = 'interview.video.processed';

/** `interview.video.processed`: ids and storage keys of a processed recording, never media. */
export const ZVideoProcessedEvent = z.object({
  orgId: z.string().uuid(),
  sessionId: z.string().uuid(),
  answerId: z.string().uuid(),
  sourceKey: z.string().min(1),
  /** Null when the candidate did not consent to video analysis (no frames were extracted). */
  framesPrefix: z.string().min(1).nullable(),
  frameCount: z.number().int().nonnegative(),
  /** Rate the frames were extracted at; frame n (1-based file name) shows time (n − 1) / rate. */
  framesPerSecond: z.number().positive(),
});
export type TVideoProcessedEvent = z.infer<typeof ZVideoProcessedEvent>;

/** Stable per recording, so a republished event is recognisably the same message. */
export function videoProcessedMessageId(answerId: string, sourceKey: string): string {
  return `video-processed:${answerId}:${createHash('sha256').update(sourceKey).digest('hex').slice(0, 16)}`;
}

export async function publishVideoProcessed(broker: Broker, event: TVideoProcessedEvent): Promise<void> {
  await broker.publish(VIDEO_PROCESSED, event, { messageId: videoProcessedMessageId(event.answerId, event.sourceKey) });
}

export interface AnalyzeRecordingDeps {
  database: Database;
  storage: Storage;
  /** Loaded on first use (the models take ≈ 0.5 s and ≈ 300 MB); one per process. */
  emotion: () => Promise<EmotionService>;
  clock?: () => Date;
}

/** How many progress writes a run makes at most (plus the final one). */
const PROGRESS_STEPS = 20;

/**
 * `emotion.batch` ← `interview.video.processed`: batch emotion analysis of the frames video
 * processing extracted (only with consent), in time order with face tracking, blinks detected over
 * the whole recording, one `emotion_analysis` row per frame (source `video`) and a summary on the
 * run. Progress (`frames_done` / `frames_total`) is written as it goes.
 */
export function analyzeRecordingJob(deps: AnalyzeRecordingDeps) {
  const runs = new VideoEmotionRepository(deps.database);
  const media = new AnswerMediaRepository(deps.database);
  const permissions = new EmotionRepository(deps.database);
  const clock = deps.clock ?? (() => new Date());
  return defineJob<TVideoProcessedEvent>({
    name: 'emotion.analyze-recording',
    queue: EMOTION_BATCH_QUEUE.name,
    routingKeys: EMOTION_BATCH_QUEUE.bindings,
    payload: ZVideoProcessedEvent,
    timeoutMs: 30 * 60_000,
    retry: retryPolicyOf(EMOTION_BATCH_QUEUE.name),
    deadLetterQueue: dlqOf(EMOTION_BATCH_QUEUE.name),
    idempotency:
      'one run per answer; a done run for the same recording is left alone; rows are unique per ' +
      '(session, source, frame_seq) and commit with the run and a processed_messages mark',
    handle: async (event, ctx) => {
      if (!event.framesPrefix) {
        ctx.logger.info('no frames: the candidate did not consent to video analysis');
        return;
      }
      const current = await media.find(event.orgId, event.answerId);
      if (!current || current.sourceKey !== event.sourceKey || current.framesPrefix !== event.framesPrefix) {
        // A newer recording, erased, or frames removed by retention: that recording's own event counts.
        ctx.logger.info('the frames no longer belong to the answer; nothing to do');
        return;
      }
      const keys = (await deps.storage.list(event.framesPrefix)).filter((k) => /\d+\.jpg$/.test(k)).sort();
      const started = await runs.start(
        {
          orgId: event.orgId,
          sessionId: event.sessionId,
          answerId: event.answerId,
          sourceKey: event.sourceKey,
          framesPrefix: event.framesPrefix,
          framesPerSecond: event.framesPerSecond,
          framesTotal: keys.length,
        },
        clock(),
      );
      if (started.finished) {
        ctx.logger.info({ status: started.run.status }, 'recording already analysed');
        return;
      }
      const run = started.run;
      const allowed = await permissions.permission(event.orgId, event.sessionId);
      if (!allowed.consented || allowed.policy === 'off') {
        const reason = allowed.consented ? 'emotion policy is off' : 'no granted video_analysis consent';
        await runs.finish(event.orgId, run.id, 'skipped', reason);
        ctx.logger.info({ reason }, 'recording not analysed');
        return;
      }
      if (keys.length === 0) {
        const reason = `no frames under ${event.framesPrefix}`;
        await runs.finish(event.orgId, run.id, 'failed', reason);
        throw new PermanentJobError(reason);
      }
      await analyse(event, run, keys, ctx, { ...deps, runs });
    },
  });
}

async function analyse(
  event: TVideoProcessedEvent,
  run: VideoEmotionRun,
  keys: string[],
  ctx: JobContext,
  deps: AnalyzeRecordingDeps & { runs: VideoEmotionRepository },
): Promise<void> {
  const startMs = (
    (await deps.runs.answerStart(event.orgId, event.answerId)) ??
    deps.clock?.() ??
    new Date()
  ).getTime();
  const frames = keys.map((key) => {
    const index = Number(path.basename(key, '.jpg')) - 1;
    if (!(index >= 0 && index < SLOT_SIZE)) throw new PermanentJobError(`Frame ${key} is outside one slot`);
    return { key, index, timestampMs: (index * 1000) / event.framesPerSecond };
  });
  const service = await deps.emotion();
  const results: FrameAnalysis[] = [];
  const step = Math.max(1, Math.ceil(frames.length / PROGRESS_STEPS));
  let progress = Promise.resolve();
  const analysis = await service.analyzeFrames(readFrames(deps.storage, frames), {
    signal: ctx.signal,
    onFrame: (f) => results.push(f),
    onProgress: ({ frames: done }) => {
      if (done % step !== 0 || done === frames.length) return;
      // One write at a time; progress is advisory, so a failed write is logged, not fatal.
      progress = progress
        .then(() => deps.runs.progress(event.orgId, run.id, done))
        .catch((err: unknown) => ctx.logger.warn({ err }, 'could not record progress'));
      ctx.logger.info({ done, total: frames.length }, 'analysing recording');
    },
  });
  await progress;

  // Blinks are found over the whole recording (per-person baseline), then each is credited to
  // the frame in which the eye had reopened, so SUM(blink_count) is the recording's count.
  const blinksAt = new Map<number, number>();
  for (const b of analysis.summary.blinks.blinks) {
    let i = analysis.records.findLastIndex((r) => r.t <= b.endMs);
    if (i < 0) i = 0;
    blinksAt.set(i, (blinksAt.get(i) ?? 0) + 1);
  }
  let sessionBlinks = 0;
  const rows: NewEmotionAnalysis[] = results.map((result, i) => {
    const frame = frames[i]!;
    const inFrame = blinksAt.get(i) ?? 0;
    sessionBlinks += inFrame;
    return toEmotionRow(
      {
        sessionId: event.sessionId,
        answerId: event.answerId,
        source: 'video',
        seq: run.seqSlot * SLOT_SIZE + frame.index,
        frameId: frame.key,
        capturedAt: startMs + Math.round(frame.timestampMs),
      },
      result,
      { inFrame, session: sessionBlinks },
    );
  });
  const summary = summarizeRecording(analysis.summary, analysis.records);
  const committed = await deps.runs.complete(event.orgId, run, rows, { ...summary }, (tx) =>
    markProcessed(tx, EMOTION_BATCH_QUEUE.name, ctx.messageId),
  );
  ctx.logger.info(
    { frames: rows.length, blinks: summary.blinks.count, faces: summary.faces.framesWithFace, committed },
    'recording analysed',
  );
}

/** The stored frames in order; the next one is fetched while the current one is analysed. */
async function* readFrames(
  storage: Storage,
  frames: readonly { key: string; timestampMs: number }[],
): AsyncGenerator<StillFrame> {
  const fetch = (i: number) => {
    const f = frames[i];
    if (!f) return null;
    const p = storage.get(f.key);
    // Awaited below; until then a rejection must not count as unhandled.
    p.catch(() => undefined);
    return p;
  };
  let next = fetch(0);
  for (let i = 0; i < frames.length; i++) {
    const current = await next!;
    next = fetch(i + 1);
    yield { bytes: current.bytes, timestampMs: frames[i]!.timestampMs };
  }
}

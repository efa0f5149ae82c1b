import type { Histogram } from 'prom-client';
import {
  EMOTION_EVENTS,
  ZFrameCaptured,
  type TEmotionAnalyzed,
  type TExpression,
  type TFrameCaptured,
} from '@parley/contracts';
import type { Broker, BrokerMessage } from '../infra/broker/broker.ts';
import type { Cache } from '../infra/cache/cache.ts';
import type { Database } from '../infra/db/database.ts';
import type { Logger } from '../infra/log.ts';
import { traceHeaders } from '../infra/telemetry.ts';
import type { EmotionSource } from '../infra/db/schema.ts';
import type { Storage } from '../infra/storage/storage.ts';
import { AppError } from '../shared/app-error.ts';
import type { EmotionService } from './emotion.service.ts';
import type { FaceAnalysis, FrameAnalysis } from './emotion.types.ts';
import {
  EmotionRepository,
  type AnalysisPermission,
  type EmotionAnalysisRow,
  type NewEmotionAnalysis,
} from './emotion.repository.ts';
import { SharedBlinkCounter, type SharedBlinkOptions } from './session/shared-blink-counter.ts';

/** The queue this consumer reads (bound to `interview.frame.captured`). */
export const EMOTION_QUEUE = 'emotion.analysis';
/** Name under which deliveries are recorded in `processed_messages`. */
const CONSUMER_NAME = 'emotion.analysis';
/** Version of the `metadata` layout written to `emotion_analysis`. */
export const EMOTION_METADATA_VERSION = 1;
/** The design's cache entry per analysed frame: `emotion:{session}:{ts}`, 1 h. */
const CACHE_TTL_SECONDS = 3_600;

export interface EmotionConsumerOptions {
  /** Queue to consume; the topology's `emotion.analysis` unless a test isolates itself. */
  queue: string;
  /**
   * Messages in flight per consumer. One analyzer runs one frame at a time; a few in flight let
   * storage reads and database writes overlap with inference.
   */
  prefetch: number;
  /** A session's face tracking is dropped after this long without a frame. */
  sessionIdleMs: number;
  /** At most this many sessions are tracked; the least recently seen is dropped first. */
  maxSessions: number;
  /** How long a session's consent and policy answer is reused before it is read again. */
  permissionTtlMs: number;
  /** Blink counting; its per-session state lives in the cache, shared by every consumer. */
  blink: Partial<SharedBlinkOptions>;
  /** Injected clock for the idle and permission timers (tests); defaults to Date.now. */
  now: () => number;
}

export const DEFAULT_EMOTION_CONSUMER_OPTIONS: EmotionConsumerOptions = {
  queue: EMOTION_QUEUE,
  prefetch: 4,
  sessionIdleMs: 10 * 60_000,
  maxSessions: 1_000,
  permissionTtlMs: 5_000,
  blink: {},
  now: () => Date.now(),
};

export interface EmotionConsumerDeps {
  broker: Broker;
  database: Database;
  storage: Storage;
  logger: Logger;
  service: EmotionService;
  /**
   * Holds each session's blink state (EAR history and count), so every consumer process
   * continues the same count. Each result is also cached as `emotion:{sessionId}:{capturedAt}`
   * for 1 h and published on the cache's pub/sub channel `interview.emotion.analyzed` (fan-out
   * to every realtime instance).
   */
  cache: Cache;
  /** The process's Prometheus series: time of one frame's analysis (all models of the pipeline). */
  metrics?: { modelInferenceSeconds: Histogram<'model' | 'stage'> };
  options?: Partial<EmotionConsumerOptions>;
}

export interface EmotionConsumer {
  /** Stops taking frames, lets in-flight ones finish, and drops all session state. */
  stop(): Promise<void>;
  /** Sessions with tracking state in this process. */
  readonly trackedSessions: number;
}

/** What `emotion_analysis.metadata` holds (version 1). */
export interface EmotionRowMetadata {
  v: number;
  frameId: string;
  capturedAt: number;
  status: 'ok' | 'error';
  error: { code: string; message: string } | null;
  width: number | null;
  height: number | null;
  faceCount: number;
  detectorRan: boolean | null;
  /** The main (largest) face; null without a face. */
  face: {
    box: FaceAnalysis['box'];
    score: number;
    landmarkConfidence: number;
    tracked: boolean;
    keypoints: FaceAnalysis['keypoints'] | null;
    ear: { left: number; right: number; mean: number };
    iris: { left: [number, number] | null; right: [number, number] | null };
    probabilities: Record<TExpression, number>;
    headPose: FaceAnalysis['headPose'];
    gaze: FaceAnalysis['gaze'];
    quality: FaceAnalysis['quality'];
  } | null;
  /** Boxes of the other faces (several people in view). */
  otherFaces: FaceAnalysis['box'][];
  blinks: { inFrame: number; session: number };
  elapsedMs: number | null;
}

interface SessionState {
  faces: ReturnType<EmotionService['trackFaces']>;
  /** Frames of one session are analysed one after another, in arrival order. */
  chain: Promise<unknown>;
  lastSeen: number;
  permission?: { value: AnalysisPermission; at: number };
}

/**
 * Consumes `emotion.analysis`: loads each captured frame from storage, analyses it with this
 * session's face tracking and blink state, records one `emotion_analysis` row (idempotent: a
 * redelivered or re-sent frame keeps its first row), and publishes `interview.emotion.analyzed`.
 *
 * Frames of a session without a granted `video_analysis` consent, or under policy `off`, are
 * acknowledged and dropped unanalysed. A corrupt image is recorded as an error row. A message
 * that fails validation, names an unknown session or a missing frame throws: the broker retries
 * it with backoff, then dead-letters it, and the consumer goes on with the next one.
 *
 * Face tracking lives in this process (with N competing consumers each tracks from the frames
 * it gets); blink state lives in the cache, so a session's blink count is the same however its
 * frames are spread over consumers (see README "Broker consumer").
 */
export async function startEmotionConsumer(deps: EmotionConsumerDeps): Promise<EmotionConsumer> {
  const options = { ...DEFAULT_EMOTION_CONSUMER_OPTIONS, ...deps.options };
  const { broker, storage, service, cache } = deps;
  const logger = deps.logger.child({ consumer: CONSUMER_NAME });
  const repository = new EmotionRepository(deps.database);
  const sessions = new Map<string, SessionState>();
  const blinks = new SharedBlinkCounter(cache, options.blink);

  function sessionFor(sessionId: string): SessionState {
    const now = options.now();
    for (const [id, s] of sessions) if (now - s.lastSeen > options.sessionIdleMs) sessions.delete(id);
    let state = sessions.get(sessionId);
    if (state) {
      // Re-insert: Map order is then least recently seen first, for eviction.
      sessions.delete(sessionId);
    } else {
      if (sessions.size >= options.maxSessions) {
        const oldest = sessions.keys().next();
        if (!oldest.done) sessions.delete(oldest.value);
      }
      state = {
        faces: service.trackFaces(),
        chain: Promise.resolve(),
        lastSeen: now,
      };
    }
    state.lastSeen = now;
    sessions.set(sessionId, state);
    return state;
  }

  async function permission(state: SessionState, frame: TFrameCaptured): Promise<AnalysisPermission> {
    const now = options.now();
    if (state.permission && now - state.permission.at < options.permissionTtlMs) return state.permission.value;
    const value = await repository.permission(frame.orgId, frame.sessionId);
    state.permission = { value, at: now };
    return value;
  }

  type Prepared =
    | { kind: 'existing'; row: EmotionAnalysisRow }
    | { kind: 'refused'; policy: string; consented: boolean }
    | { kind: 'analyse'; bytes: Uint8Array };

  /** Everything before inference: the redelivery check, consent and policy, the frame's bytes. */
  async function prepare(frame: TFrameCaptured, state: SessionState): Promise<Prepared> {
    const existing = await repository.findFrame(frame.orgId, frame.sessionId, 'stream', frame.seq);
    if (existing) return { kind: 'existing', row: existing };
    const allowed = await permission(state, frame);
    if (!allowed.found) {
      sessions.delete(frame.sessionId);
      throw new AppError('NOT_FOUND', `Session ${frame.sessionId} does not exist in organisation ${frame.orgId}`);
    }
    if (!allowed.consented || allowed.policy === 'off') {
      return { kind: 'refused', policy: allowed.policy, consented: allowed.consented };
    }
    // Storage errors (missing object, tampered ciphertext, outage) throw: retried, then dead-lettered.
    const { bytes } = await storage.get(frame.storageKey);
    return { kind: 'analyse', bytes };
  }

  async function handle(message: BrokerMessage): Promise<void> {
    const parsed = ZFrameCaptured.safeParse(message.payload);
    if (!parsed.success) {
      throw new AppError('VALIDATION_FAILED', `Invalid ${EMOTION_EVENTS.frameCaptured} payload`, parsed.error.issues);
    }
    const frame = parsed.data;
    const log = logger.child({ messageId: message.messageId, sessionId: frame.sessionId, seq: frame.seq });

    // The session's slot is taken now, before any I/O, so its frames are analysed in the order
    // they arrived (tracking follows the face from one frame to the next) while the storage
    // reads and lookups of several in-flight frames still overlap.
    const state = sessionFor(frame.sessionId);
    const prepared = prepare(frame, state);
    // Its failure is handled where it is awaited, in the slot; until then it must not count as unhandled.
    prepared.catch(() => undefined);
    const step = await serialOn(state, async () => {
      const p = await prepared;
      if (p.kind !== 'analyse') return p;
      const started = performance.now();
      const result = await state.faces.analyze(p.bytes, frame.capturedAt);
      deps.metrics?.modelInferenceSeconds.observe(
        { model: 'face-pipeline', stage: 'frame' },
        (performance.now() - started) / 1000,
      );
      const ear = result.ok && result.faces[0] && !result.wholeImageAsFace ? result.faces[0].eyes.meanEar : null;
      const tally = result.ok
        ? await blinks.add(frame.sessionId, { t: frame.capturedAt, ear })
        : { inFrame: 0, session: await blinks.total(frame.sessionId) };
      return { kind: 'analysed' as const, result, blinks: tally };
    });
    if (step.kind === 'existing') {
      // Redelivery (or a re-sent frame): the row stands; publish again in case the first
      // attempt died between commit and publish. Subscribers de-duplicate by analysisId.
      log.debug('frame already analysed; republishing its result');
      await announce(toAnalyzedEvent(step.row));
      return;
    }
    if (step.kind === 'refused') {
      log.debug({ policy: step.policy, consented: step.consented }, 'frame dropped: no consent or policy off');
      return;
    }
    const analysed = step;
    if (!analysed.result.ok) {
      log.warn({ error: analysed.result.error }, 'frame could not be analysed; recorded as an error');
    }

    const { row, created } = await repository.recordFrame(frame.orgId, toRow(frame, analysed.result, analysed.blinks), {
      consumer: CONSUMER_NAME,
      messageId: message.messageId,
    });
    if (!created) log.debug('frame recorded concurrently by another delivery');
    await announce(toAnalyzedEvent(row));
  }

  async function announce(event: TEmotionAnalyzed): Promise<void> {
    await broker.publish(EMOTION_EVENTS.emotionAnalyzed, event, { messageId: `emotion-analyzed:${event.analysisId}` });
    const json = JSON.stringify(event);
    await cache.set(`emotion:${event.sessionId}:${event.capturedAt}`, json, CACHE_TTL_SECONDS);
    // Pub/sub reaches every realtime instance (a broker queue has competing consumers, so
    // only one instance would get each update); at-most-once is fine for a live view. The trace
    // context rides along (`traceparent`, absent when tracing is off; subscribers' schema drops it).
    await cache.publish(EMOTION_EVENTS.emotionAnalyzed, JSON.stringify({ ...event, ...traceHeaders() }));
  }

  const consumer = await broker.consume(
    options.queue,
    async (message) => {
      try {
        await handle(message);
      } catch (err) {
        logger.warn(
          { err, messageId: message.messageId, attempt: message.attempt },
          'emotion analysis failed; the broker retries, then dead-letters the message',
        );
        throw err;
      }
    },
    { prefetch: options.prefetch },
  );
  logger.info({ prefetch: options.prefetch }, 'emotion consumer started');

  return {
    async stop() {
      await consumer.close();
      sessions.clear();
    },
    get trackedSessions() {
      return sessions.size;
    },
  };
}

function serialOn<T>(state: SessionState, task: () => Promise<T>): Promise<T> {
  const next = state.chain.then(task, task);
  state.chain = next.catch(() => undefined);
  return next;
}

const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;

function toRow(
  frame: TFrameCaptured,
  result: FrameAnalysis,
  blinks: { inFrame: number; session: number },
): NewEmotionAnalysis {
  return toEmotionRow(
    {
      sessionId: frame.sessionId,
      answerId: frame.answerId ?? null,
      source: 'stream',
      seq: frame.seq,
      frameId: frame.frameId,
      capturedAt: frame.capturedAt,
    },
    result,
    blinks,
  );
}

/**
 * The `emotion_analysis` row of one analysed frame (metadata layout v1), for the live consumer
 * and for batch analysis of a recording alike.
 */
export function toEmotionRow(
  frame: {
    sessionId: string;
    answerId: string | null;
    source: EmotionSource;
    seq: number;
    frameId: string;
    /** Epoch milliseconds. */
    capturedAt: number;
  },
  result: FrameAnalysis,
  blinks: { inFrame: number; session: number },
): NewEmotionAnalysis {
  const face = result.ok ? result.faces[0] : undefined;
  const metadata: EmotionRowMetadata = {
    v: EMOTION_METADATA_VERSION,
    frameId: frame.frameId,
    capturedAt: frame.capturedAt,
    status: result.ok ? 'ok' : 'error',
    error: result.ok ? null : result.error,
    width: result.ok ? result.width : null,
    height: result.ok ? result.height : null,
    faceCount: result.ok ? result.faceCount : 0,
    detectorRan: result.ok ? result.detectorRan : null,
    face: face
      ? {
          box: face.box,
          score: round(face.score),
          landmarkConfidence: round(face.landmarkConfidence),
          tracked: face.tracked,
          keypoints: face.keypoints ?? null,
          ear: { left: round(face.eyes.left.ear), right: round(face.eyes.right.ear), mean: round(face.eyes.meanEar) },
          iris: { left: face.eyes.left.iris, right: face.eyes.right.iris },
          probabilities: Object.fromEntries(
            Object.entries(face.expression.probabilities).map(([k, v]) => [k, round(v)]),
          ) as Record<TExpression, number>,
          headPose: face.headPose,
          gaze: face.gaze,
          quality: face.quality,
        }
      : null,
    otherFaces: result.ok ? result.faces.slice(1).map((f) => f.box) : [],
    blinks,
    elapsedMs: result.ok ? round(result.elapsedMs, 1) : null,
  };
  return {
    sessionId: frame.sessionId,
    answerId: frame.answerId,
    source: frame.source,
    frameSeq: frame.seq,
    frameTs: new Date(frame.capturedAt),
    faceDetected: result.ok && result.facePresent,
    emotion: face ? face.expression.label : null,
    confidence: face ? Math.min(1, Math.max(0, face.expression.confidence)) : null,
    blinkCount: blinks.inFrame,
    metadata: metadata as unknown as Record<string, unknown>,
  };
}

/** The realtime update for a stored row (the same whether it was just written or redelivered). */
export function toAnalyzedEvent(row: EmotionAnalysisRow): TEmotionAnalyzed {
  const m = row.metadata as unknown as EmotionRowMetadata;
  const face = m.face;
  return {
    analysisId: row.id,
    sessionId: row.sessionId,
    orgId: row.orgId,
    answerId: row.answerId,
    frameId: m.frameId,
    seq: row.frameSeq,
    capturedAt: m.capturedAt,
    status: m.status === 'error' ? 'error' : 'ok',
    errorCode: m.error?.code ?? null,
    faceDetected: row.faceDetected,
    faceCount: m.faceCount,
    emotion: (row.emotion as TExpression | null) ?? null,
    confidence: row.confidence,
    probabilities: face?.probabilities ?? null,
    ear: face?.ear.mean ?? null,
    blinksInFrame: row.blinkCount,
    sessionBlinks: m.blinks.session,
    headPose: face?.headPose ?? null,
    gazeAway: face?.gaze.away ?? null,
    qualityOk: face?.quality.ok ?? null,
  };
}

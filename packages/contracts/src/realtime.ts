import { z } from 'zod';
import { ZEmotionAnalyzed } from './emotion.ts';
import { ZErrorCode } from './errors.ts';
import { ZSessionStatus } from './interviews.ts';

/**
 * The `GET /ws` protocol, both directions. Text messages are JSON objects with a `type`; a frame
 * may also travel as one binary message (see `encodeBinaryFrame`), which saves base64's third.
 *
 * Flow: authenticate (`?access_token=` on the upgrade, or an `auth` message first) → `ready`.
 * A candidate streams `frame`s for their own session (at the device check, status `consented`, and
 * in progress; only with consent to video analysis); each stored and announced frame is
 * answered `frame.ack` (the same `seq` again, without a duplicate, when re-sent). After a
 * reconnect, `resume` says which frames the server holds, so only the missing ones are re-sent.
 * Staff of the session's organisation (and the candidate) `subscribe` to a session's live view.
 */

const ZSessionId = z.uuid();
/** Client-assigned frame number within a session (fits the `frames.seq` integer column). */
export const ZFrameSeq = z.int().min(0).max(2_147_483_647);
const ZEpochMs = z.int().min(0).max(8_640_000_000_000_000);

// ---------------------------------------------------------------------------------------------
// Client → server

export const ZWsAuth = z.strictObject({
  type: z.literal('auth'),
  token: z.string().min(1).max(4096).describe('Access token (JWT)'),
});

/** Metadata of a frame; the JPEG itself is `data` (base64) or the body of a binary message. */
export const ZFrameHeader = z.strictObject({
  seq: ZFrameSeq,
  /** Capture time on the client; a value far from server time is replaced by the receive time. */
  capturedAt: ZEpochMs.optional(),
  /** The candidate's token names one session; when given, it must be that one. */
  sessionId: ZSessionId.optional(),
  /** The answer being recorded, if any (must belong to the session). */
  answerId: z.uuid().optional(),
});
export type TFrameHeader = z.infer<typeof ZFrameHeader>;

export const ZWsFrame = ZFrameHeader.extend({
  type: z.literal('frame'),
  data: z.base64().min(4).describe('JPEG bytes, base64'),
});

export const ZWsSubscribe = z.strictObject({ type: z.literal('subscribe'), sessionId: ZSessionId });
export const ZWsUnsubscribe = z.strictObject({ type: z.literal('unsubscribe'), sessionId: ZSessionId });

/** After a reconnect: "the last ack I saw was `lastAckedSeq`" (-1 when none). */
export const ZWsResume = z.strictObject({
  type: z.literal('resume'),
  sessionId: ZSessionId,
  lastAckedSeq: z.int().min(-1).max(2_147_483_647),
});

export const ZWsPing = z.strictObject({ type: z.literal('ping'), id: z.string().max(64).optional() });

export const ZWsClientMessage = z.discriminatedUnion('type', [
  ZWsAuth,
  ZWsFrame,
  ZWsSubscribe,
  ZWsUnsubscribe,
  ZWsResume,
  ZWsPing,
]);
export type TWsClientMessage = z.infer<typeof ZWsClientMessage>;

// ---------------------------------------------------------------------------------------------
// Server → client

export const ZWsReady = z.object({
  type: z.literal('ready'),
  actor: z.object({
    kind: z.enum(['staff', 'candidate']),
    userId: z.uuid(),
    orgId: z.uuid(),
    sessionId: ZSessionId.optional(),
  }),
  limits: z.object({ framesPerSec: z.int(), maxFrameBytes: z.int() }),
});

export const ZWsFrameAck = z.object({
  type: z.literal('frame.ack'),
  seq: ZFrameSeq,
  /** True when this seq had been stored before (a re-send): nothing new was written. */
  duplicate: z.boolean(),
});

/** A frame the server did not take because of a limit; send later frames more slowly. */
export const ZWsFrameDropped = z.object({
  type: z.literal('frame.dropped'),
  seq: ZFrameSeq,
  reason: z.enum(['rate_limited', 'overloaded']),
  code: ZErrorCode,
  /** Frames dropped on this connection so far. */
  droppedTotal: z.int().min(0),
});

export const ZWsError = z.object({
  type: z.literal('error'),
  code: ZErrorCode,
  message: z.string(),
  /** The frame the error is about, when it is about one. */
  seq: ZFrameSeq.optional(),
  /** The session the error is about (subscribe, resume). */
  sessionId: ZSessionId.optional(),
});

/** Where a session is; sent on subscribe and on every change. */
export const ZWsSessionState = z.object({
  type: z.literal('session.state'),
  sessionId: ZSessionId,
  status: ZSessionStatus,
  currentPosition: z.int().min(0),
  at: z.iso.datetime(),
});

export const ZWsSubscribed = z.object({ type: z.literal('subscribed'), sessionId: ZSessionId });
export const ZWsUnsubscribed = z.object({ type: z.literal('unsubscribed'), sessionId: ZSessionId });

/** Staff: one frame's full analysis (the recruiter's emotion timeline). */
export const ZWsEmotion = z.object({
  type: z.literal('emotion'),
  sessionId: ZSessionId,
  result: ZEmotionAnalyzed,
});

/**
 * Candidate: what helps them keep a usable picture, without their own emotion readings (which
 * are for the recruiter, under the organisation's policy). The device check's "face detected"
 * is this message.
 */
export const ZWsFrameFeedback = z.object({
  type: z.literal('frame.feedback'),
  sessionId: ZSessionId,
  seq: z.int(),
  faceDetected: z.boolean(),
  faceCount: z.int().min(0),
  qualityOk: z.boolean().nullable(),
  gazeAway: z.boolean().nullable(),
});

export const ZWsResumed = z.object({
  type: z.literal('resumed'),
  sessionId: ZSessionId,
  lastAckedSeq: z.int(),
  /** Frames after `lastAckedSeq` that the server holds (ascending): re-send only the others. */
  storedSeqs: z.array(ZFrameSeq),
  /** More stored frames follow than `storedSeqs` lists; ask again from its last element. */
  truncated: z.boolean(),
  /** Highest stored seq of the session, null when none. */
  highestStoredSeq: ZFrameSeq.nullable(),
});

export const ZWsPong = z.object({ type: z.literal('pong'), id: z.string().optional() });

export const ZWsServerMessage = z.discriminatedUnion('type', [
  ZWsReady,
  ZWsFrameAck,
  ZWsFrameDropped,
  ZWsError,
  ZWsSessionState,
  ZWsSubscribed,
  ZWsUnsubscribed,
  ZWsEmotion,
  ZWsFrameFeedback,
  ZWsResumed,
  ZWsPong,
]);
export type TWsServerMessage = z.infer<typeof ZWsServerMessage>;

/**
 * Cache pub/sub channel on which a session's state change is announced to every realtime
 * instance (payload `ZSessionUpdate`). Realtime instances also notice changes themselves.
 */
export const SESSION_UPDATES_CHANNEL = 'interview.session.updated';

export const ZSessionUpdate = z.object({
  sessionId: ZSessionId,
  orgId: z.uuid(),
  status: ZSessionStatus,
  currentPosition: z.int().min(0),
  at: z.iso.datetime(),
});
export type TSessionUpdate = z.infer<typeof ZSessionUpdate>;

// ---------------------------------------------------------------------------------------------
// Binary frames: [u16 big-endian header length][header: UTF-8 JSON, `ZFrameHeader`][JPEG bytes]

/** Longest header accepted in a binary frame, in bytes. */
export const MAX_BINARY_FRAME_HEADER_BYTES = 1024;

export function encodeBinaryFrame(header: TFrameHeader, jpeg: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  if (json.length > MAX_BINARY_FRAME_HEADER_BYTES) throw new RangeError('frame header too long');
  const out = new Uint8Array(2 + json.length + jpeg.length);
  new DataView(out.buffer).setUint16(0, json.length);
  out.set(json, 2);
  out.set(jpeg, 2 + json.length);
  return out;
}

/** Splits a binary frame; the header is still unvalidated JSON (parse it with `ZFrameHeader`). */
export function decodeBinaryFrame(
  bytes: Uint8Array,
): { ok: true; header: unknown; jpeg: Uint8Array } | { ok: false; reason: string } {
  if (bytes.length < 2) return { ok: false, reason: 'binary frame shorter than its header length' };
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(0);
  if (length === 0 || length > MAX_BINARY_FRAME_HEADER_BYTES || 2 + length > bytes.length) {
    return { ok: false, reason: 'binary frame header length is out of range' };
  }
  try {
    const header: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(2, 2 + length)));
    return { ok: true, header, jpeg: bytes.subarray(2 + length) };
  } catch {
    return { ok: false, reason: 'binary frame header is not UTF-8 JSON' };
  }
}

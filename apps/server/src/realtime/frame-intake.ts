import { randomUUID } from 'node:crypto';
import { EMOTION_EVENTS, ZFrameCaptured, type TFrameCaptured } from '@parley/contracts';
import type { Broker } from '../infra/broker/broker.ts';
import type { Storage } from '../infra/storage/storage.ts';
import type { CandidateActor } from '../shared/actor.ts';
import { AppError, isAppError } from '../shared/app-error.ts';
import type { FrameRepository, FrameRow } from './frame.repository.ts';
import type { SessionDirectory, SessionInfo } from './session-directory.ts';

export interface FrameInput {
  seq: number;
  capturedAt?: number;
  sessionId?: string;
  answerId?: string;
  jpeg: Uint8Array;
}

export interface FrameIntakeOptions {
  maxFrameBytes: number;
  /** How long a session's status, consent and policy are reused before being read again. */
  permissionTtlMs: number;
  /** A client capture time further than this in the past is replaced by the receive time. */
  maxFrameAgeMs: number;
  /** … and further than this in the future. */
  maxClockAheadMs: number;
  now: () => number;
}

const JPEG_MAGIC = [0xff, 0xd8, 0xff] as const;
/**
 * `consented` is the device check: the candidate has agreed to video analysis but not started,
 * and the server's "face detected" answer (`frame.feedback`) is what the check shows. Consent
 * and policy apply exactly as in progress; scoring leaves out frames captured before the start.
 */
const FRAME_STATUSES: ReadonlySet<SessionInfo['status']> = new Set(['consented', 'in_progress']);
const ANSWER_CACHE_LIMIT = 10_000;

/**
 * Takes one candidate frame: checks who may send it and whether the session is analysable (at the
 * device check or in progress, with consent, under a policy that is not `off`), stores
 * the JPEG, records the `frames` row and announces `interview.frame.captured`, in that order.
 * It resolves only when all three are done, so the caller acknowledges a frame that can no
 * longer be lost. (session, seq) is idempotent: a re-sent frame writes nothing new, and its
 * announcement is repeated in case the first attempt died before publishing.
 */
export class FrameIntake {
  private readonly permissions = new Map<string, { info: SessionInfo | undefined; at: number }>();
  private readonly knownAnswers = new Set<string>();

  constructor(
    private readonly directory: SessionDirectory,
    private readonly frames: FrameRepository,
    private readonly storage: Storage,
    private readonly broker: Broker,
    private readonly options: FrameIntakeOptions,
  ) {}

  async accept(actor: CandidateActor, input: FrameInput): Promise<{ seq: number; duplicate: boolean }> {
    const sessionId = input.sessionId ?? actor.sessionId;
    if (sessionId !== actor.sessionId) throw notFound();
    if (input.jpeg.length > this.options.maxFrameBytes) {
      throw new AppError('FRAME_TOO_LARGE', `A frame may be at most ${this.options.maxFrameBytes} bytes`);
    }
    if (!JPEG_MAGIC.every((b, i) => input.jpeg[i] === b)) {
      throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'A frame must be a JPEG image');
    }
    const session = await this.session(actor, sessionId);
    try {
      this.assertAnalysable(session);
    } catch (refusal) {
      // A frame stored before the session closed (or consent was withdrawn) is still acknowledged
      // when re-sent; only new frames are refused.
      const existing = await this.frames.find(session.orgId, session.id, input.seq);
      if (existing) return { seq: input.seq, duplicate: true };
      throw refusal;
    }
    if (input.answerId !== undefined) await this.assertAnswer(session, input.answerId);

    const now = this.options.now();
    const capturedAt =
      input.capturedAt !== undefined &&
      input.capturedAt >= now - this.options.maxFrameAgeMs &&
      input.capturedAt <= now + this.options.maxClockAheadMs
        ? input.capturedAt
        : now;
    const frameId = randomUUID();
    const storageKey = `orgs/${session.orgId}/sessions/${session.id}/frames/${input.seq}-${frameId}.jpg`;
    await unavailableOnFailure('store the frame', () => this.storage.put(storageKey, input.jpeg, 'image/jpeg'));
    const row = await unavailableOnFailure('record the frame', () =>
      this.frames.insert(session.orgId, {
        id: frameId,
        sessionId: session.id,
        seq: input.seq,
        storageKey,
        sizeBytes: input.jpeg.length,
        capturedAt: new Date(capturedAt),
      }),
    );
    if (!row) {
      // Another delivery of this seq won: keep its object and row, drop ours.
      await this.storage.delete(storageKey).catch(() => undefined);
      const existing = await unavailableOnFailure('read the frame', () =>
        this.frames.find(session.orgId, session.id, input.seq),
      );
      if (!existing) throw new AppError('SERVICE_UNAVAILABLE', 'The frame could not be recorded; send it again');
      await this.announce(existing, input.answerId);
      return { seq: input.seq, duplicate: true };
    }
    await this.announce(row, input.answerId);
    return { seq: input.seq, duplicate: false };
  }

  /** The frames the server holds for the candidate's session after `lastAckedSeq`. */
  async resume(
    actor: CandidateActor,
    sessionId: string,
    lastAckedSeq: number,
    limit: number,
  ): Promise<{ storedSeqs: number[]; truncated: boolean; highestStoredSeq: number | null }> {
    if (sessionId !== actor.sessionId) throw notFound();
    const session = await this.session(actor, sessionId, { fresh: true });
    const seqs = await this.frames.seqsAfter(session.orgId, session.id, lastAckedSeq, limit + 1);
    return {
      storedSeqs: seqs.slice(0, limit),
      truncated: seqs.length > limit,
      highestStoredSeq: await this.frames.highestSeq(session.orgId, session.id),
    };
  }

  private async session(
    actor: CandidateActor,
    sessionId: string,
    opts: { fresh?: boolean } = {},
  ): Promise<SessionInfo> {
    const now = this.options.now();
    let cached = this.permissions.get(sessionId);
    if (opts.fresh || !cached || now - cached.at >= this.options.permissionTtlMs) {
      const info = await unavailableOnFailure('look the session up', () => this.directory.get(actor.orgId, sessionId));
      cached = { info, at: now };
      this.permissions.set(sessionId, cached);
      if (this.permissions.size > 10_000) this.evictPermissions(now);
    }
    const info = cached.info;
    if (!info || info.orgId !== actor.orgId || info.candidateId !== actor.userId) throw notFound();
    return info;
  }

  private assertAnalysable(session: SessionInfo): void {
    if (!FRAME_STATUSES.has(session.status)) {
      throw new AppError(
        'CONFLICT',
        `Frames are taken only at the device check and while the interview is in progress (it is ${session.status})`,
      );
    }
    if (session.emotionPolicy === 'off') {
      throw new AppError('FORBIDDEN', 'Video analysis is off for this interview; do not send frames');
    }
    if (!session.videoAnalysisConsent) {
      throw new AppError('CONSENT_REQUIRED', 'Frames are taken only with consent to video analysis');
    }
  }

  private async assertAnswer(session: SessionInfo, answerId: string): Promise<void> {
    const key = `${session.id}:${answerId}`;
    if (this.knownAnswers.has(key)) return;
    const belongs = await unavailableOnFailure('look the answer up', () =>
      this.frames.answerBelongs(session.orgId, session.id, answerId),
    );
    if (!belongs) throw new AppError('NOT_FOUND', 'Answer not found in this session');
    if (this.knownAnswers.size >= ANSWER_CACHE_LIMIT) this.knownAnswers.clear();
    this.knownAnswers.add(key);
  }

  private async announce(row: FrameRow, answerId: string | undefined): Promise<void> {
    const event: TFrameCaptured = ZFrameCaptured.parse({
      sessionId: row.sessionId,
      orgId: row.orgId,
      ...(answerId ? { answerId } : {}),
      frameId: row.id,
      seq: row.seq,
      capturedAt: row.capturedAt.getTime(),
      storageKey: row.storageKey,
    });
    await unavailableOnFailure('announce the frame', () =>
      this.broker.publish(EMOTION_EVENTS.frameCaptured, event, {
        messageId: `${EMOTION_EVENTS.frameCaptured}:${row.id}`,
      }),
    );
  }

  private evictPermissions(now: number): void {
    for (const [id, entry] of this.permissions) {
      if (now - entry.at >= this.options.permissionTtlMs) this.permissions.delete(id);
    }
  }
}

const notFound = () => new AppError('NOT_FOUND', 'Session not found');

/**
 * Infrastructure failures become SERVICE_UNAVAILABLE: the frame was not acknowledged and the
 * client sends it again. Coded errors pass through.
 */
async function unavailableOnFailure<T>(what: string, task: () => Promise<T>): Promise<T> {
  try {
    return await task();
  } catch (err) {
    if (isAppError(err) && err.code !== 'INTERNAL') throw err;
    throw new AppError('SERVICE_UNAVAILABLE', `Could not ${what}; try again`, { cause: String(err) });
  }
}

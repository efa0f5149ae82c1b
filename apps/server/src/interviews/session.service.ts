import type {
  TAnswer,
  TConsentBody,
  TEmotionPolicy,
  TInterviewCompletedEvent,
  TSessionQuery,
  TSessionSummary,
  TSessionView,
  TVideoUploadedEvent,
} from '@parley/contracts';
import { Readable } from 'node:stream';
import type { Broker } from '../infra/broker/broker.ts';
import type { Database } from '../infra/db/database.ts';
import { isUniqueViolation } from '../infra/db/database-errors.ts';
import type { SessionStatus } from '../infra/db/schema.ts';
import type { Storage } from '../infra/storage/storage.ts';
import { requireSessionAccess, requireStaff, type Actor, type CandidateActor } from '../shared/actor.ts';
import { AppError } from '../shared/app-error.ts';
import type { Clock } from './clock.ts';
import type { SessionAnnouncer } from './session-cache.ts';
import type {
  AnswerRecord,
  OpenAttempt,
  SessionQuestion,
  SessionRecord,
  SessionRepository,
  SessionSnapshot,
} from './session.repository.ts';
import { illegalTransition, OPEN_STATES, sourcesOf } from './session-state.ts';

export interface SessionSettings {
  /** Answers arriving this long after the answer deadline are still taken (network latency). */
  answerGraceSeconds: number;
  /** A recording must finish uploading this long after the answer deadline. */
  uploadGraceSeconds: number;
  maxRecordingBytes: number;
}

/** Recording formats browsers produce, with the extension used for the storage key. */
export const RECORDING_TYPES: Readonly<Record<string, string>> = {
  'audio/webm': 'webm',
  'video/webm': 'webm',
  'audio/ogg': 'ogg',
  'audio/mp4': 'm4a',
  'video/mp4': 'mp4',
  'audio/mpeg': 'mp3',
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
};

export const EVENTS = {
  completed: 'interview.completed',
  videoUploaded: 'interview.video.uploaded',
} as const;

type Loaded = SessionSnapshot;

/**
 * A candidate's way through an interview, enforced on the server: the state machine
 * (`session-state.ts`), consents, the current question, and per-attempt preparation and answer
 * deadlines stored in the database, so a reload resumes with the remaining time and the
 * client's clock decides nothing.
 *
 * Reads come from the session's cached snapshot; every write is conditional in SQL on what it
 * assumed, and a refusal is decided again on a fresh read, so a stale copy can cost a retry but
 * never let a wrong move through. Every committed change of status or question is announced to
 * live views.
 */
export class SessionService {
  constructor(
    private readonly database: Database,
    private readonly repo: SessionRepository,
    private readonly updates: SessionAnnouncer,
    private readonly storage: Storage,
    private readonly broker: Broker,
    private readonly clock: Clock,
    private readonly settings: SessionSettings,
  ) {}

  /** Where the session is: status, consents, current question with its timers. */
  async view(actor: Actor, sessionId: string): Promise<TSessionView> {
    return this.toView(await this.load(actor, sessionId));
  }

  /** Records the AI notice and the two separate consents; `invited → consented`. */
  async consent(
    actor: Actor,
    sessionId: string,
    input: TConsentBody,
    meta: { userAgent?: string } = {},
  ): Promise<TSessionView> {
    const loaded = await this.loadForCandidate(actor, sessionId);
    const { session } = loaded;
    const now = this.clock();
    const moved = await this.database.primary.transaction(async (tx) => {
      const row = await this.repo.transition(
        tx,
        session.orgId,
        session.id,
        { from: sourcesOf('consented'), to: 'consented' },
        { consentedAt: now },
        now,
      );
      if (!row) return null;
      await this.repo.insertConsents(
        tx,
        session.orgId,
        session.id,
        [
          { kind: 'ai_notice', granted: input.aiNotice },
          { kind: 'recording', granted: input.recording },
          { kind: 'video_analysis', granted: input.videoAnalysis },
        ],
        { textVersion: input.textVersion, ip: actor.ip, userAgent: meta.userAgent, at: now },
      );
      return row;
    });
    if (!moved) throw await this.refused(session, 'consented');
    await this.updates.announce(moved);
    return this.toView(await this.reload(moved));
  }

  /** `consented → in_progress`, opening the first question (its preparation timer starts). */
  async start(actor: Actor, sessionId: string): Promise<TSessionView> {
    const loaded = await this.loadForCandidate(actor, sessionId);
    const { session } = loaded;
    const first = loaded.questions[0];
    if (!first) throw new AppError('CONFLICT', 'This interview has no questions');
    const now = this.clock();
    const moved = await this.database.primary.transaction(async (tx) => {
      const row = await this.repo.transition(
        tx,
        session.orgId,
        session.id,
        { from: sourcesOf('in_progress'), to: 'in_progress' },
        { startedAt: now, currentPosition: 0 },
        now,
      );
      if (!row) return null;
      await this.openAttempt(tx, row, first, 1, now);
      return row;
    });
    if (!moved) throw await this.refused(session, 'in_progress');
    await this.updates.announce(moved);
    return this.toView(await this.reload(moved));
  }

  /** Ends preparation early: the answer timer starts now. Idempotent once answering. */
  async beginAnswer(actor: Actor, sessionId: string, position: number): Promise<TSessionView> {
    const loaded = await this.currentAttempt(actor, sessionId, position);
    await this.ensureAnswering(loaded, this.clock());
    return this.toView(await this.reload(loaded.session));
  }

  async submitText(actor: Actor, sessionId: string, position: number, text: string): Promise<TSessionView> {
    const now = this.clock();
    const grace = this.settings.answerGraceSeconds;
    const loaded = await this.answerable(actor, sessionId, position, now, grace, 'hasText');
    const { session, attempt } = loaded;
    await this.ensureAnswering(loaded, now);
    const saved = await this.repo.updateAttempt(
      session.orgId,
      session.id,
      attempt.id,
      { textAnswer: text, submittedAt: attempt.submittedAt ?? now },
      now,
      { unset: 'textAnswer', open: true, answerEndsAtOrAfter: addSeconds(now, -grace) },
    );
    if (!saved) throw await this.answerRefused(actor, sessionId, position, now, grace, 'a typed answer');
    return this.toView(await this.reload(session));
  }

  /**
   * Streams a recording into storage under a key of this attempt, then attaches it. The object
   * appears only once complete and the answer row points to it only after that, so an upload
   * that fails midway leaves no half-answer. Started in time means accepted, within a bounded
   * upload allowance.
   */
  async uploadRecording(
    actor: Actor,
    sessionId: string,
    position: number,
    body: Readable,
    contentType: string,
  ): Promise<TAnswer> {
    const type = contentType.split(';')[0]!.trim().toLowerCase();
    const extension = RECORDING_TYPES[type];
    if (!extension) {
      throw new AppError(
        'UNSUPPORTED_MEDIA_TYPE',
        `Recordings must be one of ${Object.keys(RECORDING_TYPES).join(', ')}`,
      );
    }
    const startedAt = this.clock();
    const loaded = await this.answerable(
      actor,
      sessionId,
      position,
      startedAt,
      this.settings.answerGraceSeconds,
      'hasRecording',
    );
    const { session, attempt } = loaded;
    const consents = await this.repo.latestConsents(session.orgId, session.id);
    if (!consents.recording) {
      throw new AppError('CONSENT_REQUIRED', 'The candidate did not consent to recording; answer by typing instead');
    }

    const key = `orgs/${session.orgId}/sessions/${session.id}/answers/${position}-${attempt.attempt}.${extension}`;
    const { size } = await this.storage.putStream(key, limitSize(body, this.settings.maxRecordingBytes), type);
    const now = this.clock();
    const grace = this.settings.uploadGraceSeconds;
    try {
      this.assertWithinAnswerTime(attempt, now, grace);
      await this.ensureAnswering(loaded, startedAt);
      const saved = await this.repo.updateAttempt(
        session.orgId,
        session.id,
        attempt.id,
        { mediaKey: key, mediaContentType: type, submittedAt: attempt.submittedAt ?? now },
        now,
        { unset: 'mediaKey', open: true, answerEndsAtOrAfter: addSeconds(now, -grace) },
      );
      if (!saved) throw await this.answerRefused(actor, sessionId, position, now, grace, 'a recording');
    } catch (err) {
      await this.storage.delete(key);
      throw err;
    }
    const event: TVideoUploadedEvent = {
      orgId: session.orgId,
      sessionId: session.id,
      answerId: attempt.id,
      position,
      attempt: attempt.attempt,
      storageKey: key,
      contentType: type,
      sizeBytes: size,
      videoAnalysis: consents.video_analysis === true,
    };
    await this.broker.publish(EVENTS.videoUploaded, event, { messageId: `${EVENTS.videoUploaded}:${attempt.id}` });
    const [answer] = (await this.repo.listAnswers(session.orgId, session.id)).filter((a) => a.id === attempt.id);
    return toAnswer(answer!);
  }

  /** A new attempt at the current question, with fresh timers, within the question's allowance. */
  async retake(actor: Actor, sessionId: string, position: number): Promise<TSessionView> {
    const loaded = await this.currentAttempt(actor, sessionId, position);
    const { session, attempt } = loaded;
    const question = loaded.questions[position]!;
    if (attempt.attempt - 1 >= question.retakesAllowed) {
      throw new AppError('RETAKES_EXHAUSTED', `This question allows ${question.retakesAllowed} retake(s)`, {
        retakesAllowed: question.retakesAllowed,
      });
    }
    const now = this.clock();
    let opened: boolean;
    try {
      opened = await this.database.primary.transaction(async (tx) => {
        // The question must still be the current one of a session in progress when it reopens.
        if (!(await this.repo.lockInProgress(tx, session.orgId, session.id, position))) return false;
        await this.openAttempt(tx, session, question, attempt.attempt + 1, now);
        return true;
      });
    } catch (err) {
      // Two retakes racing for the same attempt number: the unique key lets only one through.
      if (isUniqueViolation(err)) throw new AppError('CONFLICT', 'A retake was already started');
      throw err;
    }
    if (!opened) {
      await this.currentAttempt(actor, sessionId, position, { fresh: true });
      throw new AppError('CONFLICT', 'The session has moved on; reload it');
    }
    return this.toView(await this.reload(session));
  }

  /** Moves from `position` to the next question and opens it. */
  async next(actor: Actor, sessionId: string, position: number): Promise<TSessionView> {
    const loaded = await this.currentAttempt(actor, sessionId, position);
    const { session } = loaded;
    const following = loaded.questions[position + 1];
    if (!following) throw new AppError('CONFLICT', 'This is the last question; complete the session');
    const now = this.clock();
    const moved = await this.database.primary.transaction(async (tx) => {
      const row = await this.repo.transition(
        tx,
        session.orgId,
        session.id,
        { from: ['in_progress'], to: 'in_progress', position },
        { currentPosition: position + 1 },
        now,
      );
      if (!row) return null;
      await this.openAttempt(tx, row, following, 1, now);
      return row;
    });
    if (!moved) {
      await this.reload(session);
      throw new AppError('CONFLICT', 'The session has moved on; reload it');
    }
    await this.updates.announce(moved);
    return this.toView(await this.reload(moved));
  }

  /** `in_progress → completed` on the last question; announces `interview.completed`. */
  async complete(actor: Actor, sessionId: string): Promise<TSessionView> {
    const notOnLast = (l: Loaded) =>
      l.session.status === 'in_progress' && l.session.currentPosition < l.questions.length - 1;
    let loaded = await this.loadForCandidate(actor, sessionId);
    if (notOnLast(loaded)) loaded = await this.loadForCandidate(actor, sessionId, { fresh: true });
    const { session, questions } = loaded;
    const last = questions.length - 1;
    if (notOnLast(loaded)) {
      throw new AppError(
        'CONFLICT',
        `Answer every question first (on ${session.currentPosition + 1} of ${questions.length})`,
      );
    }
    const now = this.clock();
    const moved = await this.repo.transition(
      this.database.primary,
      session.orgId,
      session.id,
      { from: ['in_progress'], to: 'completed', position: last },
      { completedAt: now },
      now,
    );
    if (!moved) throw await this.refused(session, 'completed');
    await this.updates.announce(moved);
    await this.publishCompleted(moved);
    return this.toView(await this.reload(moved));
  }

  /** The candidate withdraws, or staff close a session that will not be finished. */
  async abandon(actor: Actor, sessionId: string): Promise<TSessionView> {
    const loaded = await this.load(actor, sessionId);
    const { session } = loaded;
    const now = this.clock();
    const moved = await this.repo.transition(
      this.database.primary,
      session.orgId,
      session.id,
      { from: sourcesOf('abandoned'), to: 'abandoned' },
      {},
      now,
    );
    if (!moved) throw await this.refused(session, 'abandoned');
    await this.updates.announce(moved);
    return this.toView(await this.reload(moved));
  }

  async answers(actor: Actor, sessionId: string): Promise<TAnswer[]> {
    const { session } = await this.load(actor, sessionId);
    return (await this.repo.listAnswers(session.orgId, session.id)).map(toAnswer);
  }

  /** Recruiters' list of their organisation's sessions. */
  async list(actor: Actor, query: TSessionQuery): Promise<TSessionSummary[]> {
    requireStaff(actor);
    const rows = await this.repo.list(actor.orgId, query);
    return rows.map(({ session: s, interviewTitle, candidateName, candidateEmail }) => ({
      id: s.id,
      interviewId: s.interviewId,
      interviewTitle,
      candidateId: s.candidateId,
      candidateName,
      candidateEmail,
      status: s.status,
      currentPosition: s.currentPosition,
      expiresAt: iso(s.expiresAt),
      startedAt: iso(s.startedAt),
      completedAt: iso(s.completedAt),
      createdAt: s.createdAt.toISOString(),
    }));
  }

  /**
   * For the scoring context: `completed → scoring`, `scoring → scored`, or `scoring → completed`
   * to give a failed run back. Trusted callers only (no actor): they hold ids from broker messages.
   */
  async advanceScoring(orgId: string, sessionId: string, to: 'scoring' | 'scored' | 'completed'): Promise<void> {
    const now = this.clock();
    const moved = await this.repo.transition(
      this.database.primary,
      orgId,
      sessionId,
      { from: to === 'completed' ? ['scoring'] : sourcesOf(to), to },
      to === 'scored' ? { scoredAt: now } : {},
      now,
    );
    if (moved) {
      await this.updates.announce(moved);
      return;
    }
    const current = await this.repo.find(orgId, sessionId);
    if (!current) throw new AppError('NOT_FOUND', 'Session not found');
    throw illegalTransition(current.status, to);
  }

  /**
   * What the frame pipeline may do with this session's video: the effective emotion policy and
   * whether the candidate consented to video analysis (both must allow it).
   */
  async videoAnalysis(orgId: string, sessionId: string): Promise<{ policy: TEmotionPolicy; consented: boolean }> {
    const session = await this.repo.find(orgId, sessionId);
    if (!session) throw new AppError('NOT_FOUND', 'Session not found');
    const consents = await this.repo.latestConsents(orgId, sessionId);
    return { policy: session.settings.emotionPolicy ?? 'off', consented: consents.video_analysis === true };
  }

  /** Re-announces a completed session (same message id, so consumers deduplicate). */
  async publishCompleted(session: SessionRecord): Promise<void> {
    const event: TInterviewCompletedEvent = {
      orgId: session.orgId,
      sessionId: session.id,
      interviewId: session.interviewId,
      completedAt: (session.completedAt ?? this.clock()).toISOString(),
    };
    await this.broker.publish(EVENTS.completed, event, { messageId: `${EVENTS.completed}:${session.id}` });
  }

  // -------------------------------------------------------------------------------------------

  private async load(actor: Actor, sessionId: string, options: { fresh?: boolean } = {}): Promise<Loaded> {
    if (actor.kind === 'anonymous') throw new AppError('UNAUTHENTICATED', 'Sign in first');
    const loaded = await this.repo.snapshot(actor.orgId, sessionId, options);
    if (!loaded) throw new AppError('NOT_FOUND', 'Session not found');
    requireSessionAccess(actor, loaded.session);
    return this.expireIfOverdue(loaded);
  }

  /** Only the session's own candidate acts on it; staff of the organisation may only look. */
  private async loadForCandidate(
    actor: Actor,
    sessionId: string,
    options: { fresh?: boolean } = {},
  ): Promise<Loaded & { actor: CandidateActor }> {
    const loaded = await this.load(actor, sessionId, options);
    if (actor.kind !== 'candidate') throw new AppError('FORBIDDEN', 'Only the candidate can take the interview');
    if (loaded.session.status === 'expired' && loaded.session.expiresAt && loaded.session.expiresAt <= this.clock()) {
      throw new AppError('DEADLINE_PASSED', 'The interview deadline has passed');
    }
    return { ...loaded, actor };
  }

  /**
   * The open attempt at `position`, which must be the current question of a session in progress.
   * A refusal is decided on a fresh read: the cached snapshot may be behind.
   */
  private async currentAttempt(
    actor: Actor,
    sessionId: string,
    position: number,
    options: { fresh?: boolean } = {},
  ): Promise<Loaded & { attempt: OpenAttempt }> {
    const loaded = await this.loadForCandidate(actor, sessionId, options);
    try {
      return { ...loaded, attempt: openAttemptAt(loaded, position) };
    } catch (err) {
      if (options.fresh) throw err;
      return this.currentAttempt(actor, sessionId, position, { fresh: true });
    }
  }

  /**
   * The current attempt, still open for an answer of this kind at `now`; a refusal is decided on
   * a fresh read (a cached copy may predate a retake's new deadline).
   */
  private async answerable(
    actor: Actor,
    sessionId: string,
    position: number,
    now: Date,
    graceSeconds: number,
    given: 'hasText' | 'hasRecording',
  ): Promise<Loaded & { attempt: OpenAttempt }> {
    const refused = (a: OpenAttempt) => a[given] || now.getTime() > a.answerEndsAt!.getTime() + graceSeconds * 1000;
    let loaded = await this.currentAttempt(actor, sessionId, position);
    if (refused(loaded.attempt)) loaded = await this.currentAttempt(actor, sessionId, position, { fresh: true });
    this.assertWithinAnswerTime(loaded.attempt, now, graceSeconds);
    if (loaded.attempt[given]) throw alreadyAnswered(given === 'hasText' ? 'a typed answer' : 'a recording');
    return loaded;
  }

  /** Why an answer's conditional write matched nothing, decided on a fresh read. */
  private async answerRefused(
    actor: Actor,
    sessionId: string,
    position: number,
    now: Date,
    graceSeconds: number,
    what: string,
  ): Promise<AppError> {
    const { attempt } = await this.currentAttempt(actor, sessionId, position, { fresh: true });
    this.assertWithinAnswerTime(attempt, now, graceSeconds);
    return alreadyAnswered(what);
  }

  /** Opens `attempt` at a question: preparation runs now, then the answer window. */
  private async openAttempt(
    executor: Parameters<SessionRepository['insertAttempt']>[0],
    session: SessionRecord,
    question: SessionQuestion,
    attempt: number,
    now: Date,
  ): Promise<void> {
    const prepEndsAt = addSeconds(now, question.prepSeconds);
    await this.repo.insertAttempt(executor, session.orgId, {
      sessionId: session.id,
      interviewQuestionId: question.id,
      questionVersionId: question.questionVersionId,
      position: question.position,
      attempt,
      isPractice: question.isPractice,
      prepEndsAt,
      answerEndsAt: addSeconds(prepEndsAt, question.answerSeconds),
      at: now,
    });
  }

  /**
   * Makes the attempt's answer window start no later than `at`: answering during preparation
   * ends preparation there and gives the full answer time from that moment. Written only while
   * no window has started, so a stale read can never move a deadline already set.
   */
  private async ensureAnswering(
    { session, questions, attempt }: Loaded & { attempt: OpenAttempt },
    at: Date,
  ): Promise<void> {
    if (attempt.answerStartedAt) return;
    const question = questions[attempt.position]!;
    const prepEndsAt = attempt.prepEndsAt!;
    const timing =
      at < prepEndsAt
        ? { prepEndsAt: at, answerStartedAt: at, answerEndsAt: addSeconds(at, question.answerSeconds) }
        : { answerStartedAt: prepEndsAt };
    const started = await this.repo.updateAttempt(session.orgId, session.id, attempt.id, timing, this.clock(), {
      unset: 'answerStartedAt',
      open: true,
    });
    if (started) {
      Object.assign(attempt, timing);
      return;
    }
    // Started by another request (or the question closed): go on with what is stored.
    const fresh = await this.repo.snapshot(session.orgId, session.id, { fresh: true });
    if (!fresh) throw new AppError('NOT_FOUND', 'Session not found');
    Object.assign(attempt, openAttemptAt(fresh, attempt.position));
  }

  private assertWithinAnswerTime(attempt: OpenAttempt, now: Date, graceSeconds: number): void {
    if (now.getTime() > attempt.answerEndsAt!.getTime() + graceSeconds * 1000) {
      throw new AppError('TIME_LIMIT_EXCEEDED', 'The time for this answer is over', {
        answerEndsAt: attempt.answerEndsAt!.toISOString(),
      });
    }
  }

  /** Sessions past their deadline expire the first time anyone looks at them. */
  private async expireIfOverdue(loaded: Loaded): Promise<Loaded> {
    const { session } = loaded;
    const now = this.clock();
    if (!session.expiresAt || session.expiresAt > now || !OPEN_STATES.includes(session.status)) return loaded;
    const moved = await this.repo.transition(
      this.database.primary,
      session.orgId,
      session.id,
      { from: [...OPEN_STATES], to: 'expired' },
      {},
      now,
    );
    if (moved) await this.updates.announce(moved);
    return this.reload(session);
  }

  private async refused(session: SessionRecord, to: SessionStatus): Promise<AppError> {
    const current = await this.reload(session);
    return illegalTransition(current.session.status, to);
  }

  /** The session as the database has it now (and cached again). */
  private async reload(session: SessionRecord): Promise<Loaded> {
    const fresh = await this.repo.snapshot(session.orgId, session.id, { fresh: true });
    if (!fresh) throw new AppError('NOT_FOUND', 'Session not found');
    return fresh;
  }

  private toView({ session, questions, title, consents, attempt }: Loaded): TSessionView {
    const now = this.clock();
    let current: TSessionView['current'] = null;
    const question = questions[session.currentPosition];
    if (session.status === 'in_progress' && question && attempt?.position === session.currentPosition) {
      current = toCurrent(question, attempt, now);
    }
    return {
      id: session.id,
      interviewId: session.interviewId,
      candidateId: session.candidateId,
      status: session.status,
      title,
      language: session.settings.language ?? 'en',
      emotionPolicy: session.settings.emotionPolicy ?? 'off',
      consents: {
        aiNotice: consents.ai_notice === true,
        recording: consents.recording === true,
        videoAnalysis: consents.video_analysis === true,
      },
      questionCount: questions.length,
      current,
      expiresAt: iso(session.expiresAt),
      startedAt: iso(session.startedAt),
      completedAt: iso(session.completedAt),
      serverTime: now.toISOString(),
    };
  }
}

/** The open attempt at `position` of a snapshot; coded errors when the flow is elsewhere. */
function openAttemptAt({ session, attempt }: Loaded, position: number): OpenAttempt {
  if (session.status !== 'in_progress') {
    throw new AppError('ILLEGAL_TRANSITION', `The session is ${session.status}, not in progress`, {
      from: session.status,
    });
  }
  if (position !== session.currentPosition) {
    throw new AppError('CONFLICT', `Question ${position + 1} is not the current question`, {
      currentPosition: session.currentPosition,
    });
  }
  if (!attempt || attempt.position !== position) {
    throw new AppError('INTERNAL', 'The current question has no open attempt');
  }
  return attempt;
}

function toCurrent(q: SessionQuestion, a: OpenAttempt, now: Date): NonNullable<TSessionView['current']> {
  const prepEndsAt = a.prepEndsAt!;
  const answerEndsAt = a.answerEndsAt!;
  const phase = a.submittedAt
    ? 'submitted'
    : !a.answerStartedAt && now < prepEndsAt
      ? 'preparing'
      : now <= answerEndsAt
        ? 'answering'
        : 'closed';
  return {
    position: q.position,
    isPractice: q.isPractice,
    text: q.text,
    prepSeconds: q.prepSeconds,
    answerSeconds: q.answerSeconds,
    retakesAllowed: q.retakesAllowed,
    attempt: a.attempt,
    phase,
    prepEndsAt: prepEndsAt.toISOString(),
    answerEndsAt: answerEndsAt.toISOString(),
    prepRemainingMs: Math.max(0, prepEndsAt.getTime() - now.getTime()),
    answerRemainingMs: Math.max(0, answerEndsAt.getTime() - now.getTime()),
    hasText: a.hasText,
    hasRecording: a.hasRecording,
  };
}

export function toAnswer(a: AnswerRecord): TAnswer {
  return {
    id: a.id,
    position: a.position,
    attempt: a.attempt,
    isPractice: a.isPractice,
    questionVersionId: a.questionVersionId,
    textAnswer: a.textAnswer,
    mediaKey: a.mediaKey,
    mediaContentType: a.mediaContentType,
    transcript: a.transcript,
    transcriptSource: a.transcriptSource,
    submittedAt: iso(a.submittedAt),
  };
}

const iso = (d: Date | null) => d?.toISOString() ?? null;
const addSeconds = (d: Date, s: number) => new Date(d.getTime() + s * 1000);
const alreadyAnswered = (what: string) =>
  new AppError('CONFLICT', `This attempt already has ${what}; retake the question to answer again`);

/** Passes bytes through, lazily, and fails the stream once more than `max` have gone by. */
function limitSize(body: Readable, max: number): Readable {
  async function* limited(): AsyncGenerator<Buffer> {
    let seen = 0;
    for await (const chunk of body as AsyncIterable<Buffer | string>) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      seen += bytes.length;
      if (seen > max) throw new AppError('PAYLOAD_TOO_LARGE', `Recordings are limited to ${max} bytes`);
      yield bytes;
    }
  }
  return Readable.from(limited(), { objectMode: false });
}

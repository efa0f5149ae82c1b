import { and, asc, desc, eq, gte, inArray, isNull, sql } from 'drizzle-orm';
import type { Cache } from '../infra/cache/cache.ts';
import type { Database } from '../infra/db/database.ts';
import {
  answers,
  consents,
  interviews,
  interviewSessions,
  organizations,
  users,
  type ConsentKind,
  type OrgSettings,
  type SessionSettings,
  type SessionStatus,
} from '../infra/db/schema.ts';
import type { Executor } from './db.ts';
import type { InterviewQuestionRecord, InterviewRepository } from './interview.repository.ts';
import { SESSION_CACHE_TTL_SECONDS, sessionCacheKey, sessionFenceKey, writingSessions } from './session-cache.ts';

export type SessionRecord = typeof interviewSessions.$inferSelect;
export type AnswerRecord = typeof answers.$inferSelect;
export type AnswerPatch = Partial<
  Pick<
    AnswerRecord,
    'textAnswer' | 'mediaKey' | 'mediaContentType' | 'submittedAt' | 'prepEndsAt' | 'answerStartedAt' | 'answerEndsAt'
  >
>;

/** A question as a session sees it (fixed once the interview is published). */
export type SessionQuestion = Pick<
  InterviewQuestionRecord,
  'id' | 'position' | 'questionVersionId' | 'isPractice' | 'text' | 'prepSeconds' | 'answerSeconds' | 'retakesAllowed'
>;

/** An attempt's timers and whether it holds an answer: what the candidate's flow decides on. */
export interface OpenAttempt {
  id: string;
  position: number;
  attempt: number;
  prepEndsAt: Date | null;
  answerStartedAt: Date | null;
  answerEndsAt: Date | null;
  submittedAt: Date | null;
  hasText: boolean;
  hasRecording: boolean;
}

/**
 * A session's hot read, cached as `session:{id}`: the row, the interview's title and questions,
 * the newest consent of each kind and the newest attempt at the current question. Enough for
 * `GET /api/sessions/:id` and the timers; never the ground truth for a write (every write is
 * conditional in SQL).
 */
export interface SessionSnapshot {
  session: SessionRecord;
  title: string;
  questions: SessionQuestion[];
  consents: Partial<Record<ConsentKind, boolean>>;
  attempt: OpenAttempt | null;
}

/** Conditions an attempt must still meet, checked in the UPDATE itself. */
export interface AttemptGuard {
  /** This field must still be empty: an answer given is never overwritten by a replayed request. */
  unset?: 'textAnswer' | 'mediaKey' | 'answerStartedAt';
  /** The attempt must be the newest one at the current question of a session in progress. */
  open?: boolean;
  /** The stored answer window must not have closed before this instant. */
  answerEndsAtOrAfter?: Date;
}

export interface SessionListRow {
  session: SessionRecord;
  interviewTitle: string;
  candidateName: string;
  candidateEmail: string;
}

/**
 * Sessions, their consents and their answer attempts. Every method is scoped by organisation.
 * Every write goes through `writingSessions`, which drops the session's cached snapshot.
 */
/** How many interviews' question lists one process keeps (a few KB each). */
const FROZEN_QUESTION_LISTS = 500;

export class SessionRepository {
  /**
   * The question lists of interviews past `draft`, by interview id. They can no longer change
   * (questions are edited only in a draft; question versions are immutable), so they are read
   * once per process instead of on every snapshot — the join is the heaviest read of a request.
   */
  private readonly frozenQuestions = new Map<string, InterviewQuestionRecord[]>();

  constructor(
    private readonly database: Database,
    private readonly cache: Cache,
    private readonly interviews: InterviewRepository,
  ) {}

  /**
   * The session's snapshot from the cache, or read from the primary and cached for two hours
   * (`fresh` skips the cache). A reader that raced a write drops what it stored (the write's
   * fence is up), so the cache never keeps a copy older than the last write.
   */
  async snapshot(orgId: string, sessionId: string, options: { fresh?: boolean } = {}): Promise<SessionSnapshot | null> {
    const key = sessionCacheKey(sessionId);
    if (!options.fresh) {
      const cached = parseSnapshot(await this.cache.get(key));
      // The key names no organisation: another tenant's session is not found, as in SQL.
      if (cached) return cached.session.orgId === orgId ? cached : null;
    }
    const read = await this.readSnapshot(orgId, sessionId);
    if (!read) return null;
    await this.cache.set(key, JSON.stringify({ v: SNAPSHOT_VERSION, ...read }), SESSION_CACHE_TTL_SECONDS);
    if ((await this.cache.get(sessionFenceKey(sessionId))) !== null) await this.cache.del(key);
    return read;
  }

  /**
   * Runs a write that changes what the snapshots of an interview's sessions show (its title):
   * fenced and invalidated like a session write.
   */
  async writingInterview<T>(orgId: string, interviewId: string, write: () => Promise<T>): Promise<T> {
    const rows = await this.database.primary
      .select({ id: interviewSessions.id })
      .from(interviewSessions)
      .where(and(eq(interviewSessions.orgId, orgId), eq(interviewSessions.interviewId, interviewId)));
    return writingSessions(
      this.cache,
      rows.map((r) => r.id),
      write,
    );
  }

  private async readSnapshot(orgId: string, sessionId: string): Promise<SessionSnapshot | null> {
    const session = await this.find(orgId, sessionId);
    if (!session) return null;
    const [interview, consents, attempt] = await Promise.all([
      this.interviewOf(orgId, session.interviewId),
      this.latestConsents(orgId, sessionId),
      this.latestAttempt(orgId, sessionId, session.currentPosition),
    ]);
    return {
      session,
      title: interview?.title ?? '',
      questions: (interview?.questions ?? []).map((q) => ({
        id: q.id,
        position: q.position,
        questionVersionId: q.questionVersionId,
        isPractice: q.isPractice,
        text: q.text,
        prepSeconds: q.prepSeconds,
        answerSeconds: q.answerSeconds,
        retakesAllowed: q.retakesAllowed,
      })),
      consents,
      attempt,
    };
  }

  /** The interview's title (it can be edited: always read) and its questions (frozen once published). */
  private async interviewOf(
    orgId: string,
    interviewId: string,
  ): Promise<{ title: string; questions: InterviewQuestionRecord[] } | null> {
    const [row] = await this.database.primary
      .select({ title: interviews.title, status: interviews.status })
      .from(interviews)
      .where(and(eq(interviews.orgId, orgId), eq(interviews.id, interviewId)));
    if (!row) return null;
    let questions = this.frozenQuestions.get(interviewId);
    if (!questions) {
      questions = await this.interviews.questionsOf(orgId, interviewId);
      if (row.status !== 'draft') {
        if (this.frozenQuestions.size >= FROZEN_QUESTION_LISTS) {
          this.frozenQuestions.delete(this.frozenQuestions.keys().next().value!);
        }
        this.frozenQuestions.set(interviewId, questions);
      }
    }
    return { title: row.title, questions };
  }

  async organizationSettings(orgId: string): Promise<OrgSettings> {
    const [org] = await this.database.primary
      .select({ settings: organizations.settings })
      .from(organizations)
      .where(eq(organizations.id, orgId));
    return org?.settings ?? {};
  }

  async insert(
    executor: Executor,
    orgId: string,
    input: { interviewId: string; candidateId: string; settings: SessionSettings; expiresAt: Date | null; at: Date },
  ): Promise<SessionRecord> {
    const [row] = await executor
      .insert(interviewSessions)
      .values({
        orgId,
        interviewId: input.interviewId,
        candidateId: input.candidateId,
        settings: input.settings,
        expiresAt: input.expiresAt,
        status: 'invited',
        createdAt: input.at,
        updatedAt: input.at,
      })
      .returning();
    return row!;
  }

  async find(
    orgId: string,
    sessionId: string,
    executor: Executor = this.database.primary,
  ): Promise<SessionRecord | null> {
    const [row] = await executor
      .select()
      .from(interviewSessions)
      .where(and(eq(interviewSessions.orgId, orgId), eq(interviewSessions.id, sessionId)));
    return row ?? null;
  }

  /**
   * Compare-and-set on the status: moves the session to `to` only if it is in one of `from`
   * (and, when given, still on `position`). Null when it was not, so two racing requests cannot
   * both make the same move.
   */
  async transition(
    executor: Executor,
    orgId: string,
    sessionId: string,
    move: { from: SessionStatus[]; to: SessionStatus; position?: number },
    set: Partial<Pick<SessionRecord, 'consentedAt' | 'startedAt' | 'completedAt' | 'scoredAt' | 'currentPosition'>>,
    at: Date,
  ): Promise<SessionRecord | null> {
    const [row] = await writingSessions(this.cache, [sessionId], () =>
      executor
        .update(interviewSessions)
        .set({ ...set, status: move.to, updatedAt: at })
        .where(
          and(
            eq(interviewSessions.orgId, orgId),
            eq(interviewSessions.id, sessionId),
            inArray(interviewSessions.status, move.from),
            move.position === undefined ? undefined : eq(interviewSessions.currentPosition, move.position),
          ),
        )
        .returning(),
    );
    return row ?? null;
  }

  /**
   * Locks the session row for the rest of the transaction if it is in progress on `position`;
   * false otherwise. A question opened under the lock cannot race a move to the next one.
   */
  async lockInProgress(tx: Executor, orgId: string, sessionId: string, position: number): Promise<boolean> {
    const rows = await tx
      .select({ id: interviewSessions.id })
      .from(interviewSessions)
      .where(
        and(
          eq(interviewSessions.orgId, orgId),
          eq(interviewSessions.id, sessionId),
          eq(interviewSessions.status, 'in_progress'),
          eq(interviewSessions.currentPosition, position),
        ),
      )
      .for('update');
    return rows.length > 0;
  }

  async list(
    orgId: string,
    filter: { status?: SessionStatus; interviewId?: string; limit: number; offset: number },
  ): Promise<SessionListRow[]> {
    return this.database.db
      .select({
        session: interviewSessions,
        interviewTitle: interviews.title,
        candidateName: users.name,
        candidateEmail: users.email,
      })
      .from(interviewSessions)
      .innerJoin(interviews, eq(interviews.id, interviewSessions.interviewId))
      .innerJoin(users, eq(users.id, interviewSessions.candidateId))
      .where(
        and(
          eq(interviewSessions.orgId, orgId),
          filter.status ? eq(interviewSessions.status, filter.status) : undefined,
          filter.interviewId ? eq(interviewSessions.interviewId, filter.interviewId) : undefined,
        ),
      )
      .orderBy(desc(interviewSessions.createdAt), asc(interviewSessions.id))
      .limit(filter.limit)
      .offset(filter.offset);
  }

  async insertConsents(
    executor: Executor,
    orgId: string,
    sessionId: string,
    rows: { kind: ConsentKind; granted: boolean }[],
    meta: { textVersion: string; ip?: string; userAgent?: string; at: Date },
  ): Promise<void> {
    await writingSessions(this.cache, [sessionId], () =>
      executor.insert(consents).values(
        rows.map((r) => ({
          orgId,
          sessionId,
          kind: r.kind,
          granted: r.granted,
          textVersion: meta.textVersion,
          ip: meta.ip ?? null,
          userAgent: meta.userAgent ?? null,
          recordedAt: meta.at,
        })),
      ),
    );
  }

  /** The newest answer per consent kind (consents are append-only). */
  async latestConsents(orgId: string, sessionId: string): Promise<Partial<Record<ConsentKind, boolean>>> {
    const rows = await this.database.primary
      .select({ kind: consents.kind, granted: consents.granted })
      .from(consents)
      .where(and(eq(consents.orgId, orgId), eq(consents.sessionId, sessionId)))
      .orderBy(desc(consents.recordedAt));
    const latest: Partial<Record<ConsentKind, boolean>> = {};
    for (const r of rows) latest[r.kind] ??= r.granted;
    return latest;
  }

  async insertAttempt(
    executor: Executor,
    orgId: string,
    input: {
      sessionId: string;
      interviewQuestionId: string;
      questionVersionId: string;
      position: number;
      attempt: number;
      isPractice: boolean;
      prepEndsAt: Date;
      answerEndsAt: Date;
      at: Date;
    },
  ): Promise<AnswerRecord> {
    const { at, ...values } = input;
    const [row] = await writingSessions(this.cache, [input.sessionId], () =>
      executor
        .insert(answers)
        .values({ orgId, ...values, createdAt: at, updatedAt: at })
        .returning(),
    );
    return row!;
  }

  /** The newest attempt at a position, or null before the question was opened. */
  async latestAttempt(
    orgId: string,
    sessionId: string,
    position: number,
    executor: Executor = this.database.primary,
  ): Promise<OpenAttempt | null> {
    const [row] = await executor
      .select({
        id: answers.id,
        position: answers.position,
        attempt: answers.attempt,
        prepEndsAt: answers.prepEndsAt,
        answerStartedAt: answers.answerStartedAt,
        answerEndsAt: answers.answerEndsAt,
        submittedAt: answers.submittedAt,
        hasText: sql<boolean>`${answers.textAnswer} is not null`,
        hasRecording: sql<boolean>`${answers.mediaKey} is not null`,
      })
      .from(answers)
      .where(and(eq(answers.orgId, orgId), eq(answers.sessionId, sessionId), eq(answers.position, position)))
      .orderBy(desc(answers.attempt))
      .limit(1);
    return row ?? null;
  }

  /**
   * Updates an attempt only while it meets `guard`, in the same statement, so a stale read (the
   * cache, a racing request) cannot write an answer to a closed question, a superseded attempt
   * or past the deadline. False when nothing matched.
   */
  async updateAttempt(
    orgId: string,
    sessionId: string,
    answerId: string,
    patch: AnswerPatch,
    at: Date,
    guard: AttemptGuard = {},
  ): Promise<boolean> {
    const rows = await writingSessions(this.cache, [sessionId], () =>
      this.database.primary
        .update(answers)
        .set({ ...patch, updatedAt: at })
        .where(
          and(
            eq(answers.orgId, orgId),
            eq(answers.sessionId, sessionId),
            eq(answers.id, answerId),
            guard.unset ? isNull(answers[guard.unset]) : undefined,
            guard.answerEndsAtOrAfter ? gte(answers.answerEndsAt, guard.answerEndsAtOrAfter) : undefined,
            guard.open
              ? sql`exists (select 1 from ${interviewSessions} s where s.id = ${answers.sessionId} and s.org_id = ${answers.orgId} and s.status = 'in_progress' and s.current_position = ${answers.position})
                and not exists (select 1 from ${answers} newer where newer.session_id = ${answers.sessionId} and newer.position = ${answers.position} and newer.attempt > ${answers.attempt})`
              : undefined,
          ),
        )
        .returning({ id: answers.id }),
    );
    return rows.length > 0;
  }

  async listAnswers(orgId: string, sessionId: string): Promise<AnswerRecord[]> {
    return this.database.primary
      .select()
      .from(answers)
      .where(and(eq(answers.orgId, orgId), eq(answers.sessionId, sessionId)))
      .orderBy(asc(answers.position), asc(answers.attempt));
  }
}

/** Bumped when the snapshot's shape changes, so copies written by an older build are ignored. */
const SNAPSHOT_VERSION = 1;
const SESSION_DATES = [
  'expiresAt',
  'consentedAt',
  'startedAt',
  'completedAt',
  'scoredAt',
  'createdAt',
  'updatedAt',
] as const;
const ATTEMPT_DATES = ['prepEndsAt', 'answerStartedAt', 'answerEndsAt', 'submittedAt'] as const;

function parseSnapshot(json: string | null): SessionSnapshot | null {
  if (json === null) return null;
  const raw = JSON.parse(json) as SessionSnapshot & { v?: number };
  if (raw.v !== SNAPSHOT_VERSION) return null;
  const { v: _version, ...snapshot } = raw;
  reviveDates(snapshot.session, SESSION_DATES);
  if (snapshot.attempt) reviveDates(snapshot.attempt, ATTEMPT_DATES);
  return snapshot;
}

function reviveDates<T extends object>(record: T, keys: readonly (keyof T)[]): void {
  for (const key of keys) {
    const value = record[key];
    if (typeof value === 'string') record[key] = new Date(value) as T[keyof T];
  }
}

import { and, asc, desc, eq, inArray, isNull } from 'drizzle-orm';
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

export type SessionRecord = typeof interviewSessions.$inferSelect;
export type AnswerRecord = typeof answers.$inferSelect;
export type AnswerPatch = Partial<
  Pick<
    AnswerRecord,
    'textAnswer' | 'mediaKey' | 'mediaContentType' | 'submittedAt' | 'prepEndsAt' | 'answerStartedAt' | 'answerEndsAt'
  >
>;

export interface SessionListRow {
  session: SessionRecord;
  interviewTitle: string;
  candidateName: string;
  candidateEmail: string;
}

/** Sessions, their consents and their answer attempts. Every method is scoped by organisation. */
export class SessionRepository {
  constructor(private readonly database: Database) {}

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
    const [row] = await executor
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
      .returning();
    return row ?? null;
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
    await executor.insert(consents).values(
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
    const [row] = await executor
      .insert(answers)
      .values({ orgId, ...values, createdAt: at, updatedAt: at })
      .returning();
    return row!;
  }

  /** The newest attempt at a position, or null before the question was opened. */
  async latestAttempt(
    orgId: string,
    sessionId: string,
    position: number,
    executor: Executor = this.database.primary,
  ): Promise<AnswerRecord | null> {
    const [row] = await executor
      .select()
      .from(answers)
      .where(and(eq(answers.orgId, orgId), eq(answers.sessionId, sessionId), eq(answers.position, position)))
      .orderBy(desc(answers.attempt))
      .limit(1);
    return row ?? null;
  }

  /**
   * Updates an attempt; with `unsetField`, only while that field is still null, so an answer
   * already given is never overwritten by a replayed request. False when nothing matched.
   */
  async updateAttempt(
    orgId: string,
    answerId: string,
    patch: AnswerPatch,
    at: Date,
    unsetField?: 'textAnswer' | 'mediaKey',
  ): Promise<boolean> {
    const rows = await this.database.primary
      .update(answers)
      .set({ ...patch, updatedAt: at })
      .where(
        and(eq(answers.orgId, orgId), eq(answers.id, answerId), unsetField ? isNull(answers[unsetField]) : undefined),
      )
      .returning({ id: answers.id });
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

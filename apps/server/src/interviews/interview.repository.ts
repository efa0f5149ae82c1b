import { and, asc, count, desc, eq, inArray } from 'drizzle-orm';
import type { Database } from '../infra/db/database.ts';
import {
  interviewQuestions,
  interviews,
  questionVersions,
  type InterviewSettings,
  type InterviewStatus,
} from '../infra/db/schema.ts';
import type { Executor } from './db.ts';

export type InterviewRecord = typeof interviews.$inferSelect;
export type InterviewQuestionRecord = typeof interviewQuestions.$inferSelect & { text: string; version: number };
export interface InterviewWithQuestions {
  interview: InterviewRecord;
  questions: InterviewQuestionRecord[];
}

/** One entry of an interview's ordered list, with the question version already resolved. */
export interface PinnedQuestion {
  questionId: string;
  questionVersionId: string;
  isPractice: boolean;
  prepSeconds: number;
  answerSeconds: number;
  retakesAllowed: number;
}

/** Interviews and their ordered, pinned questions. Every method is scoped by organisation. */
export class InterviewRepository {
  constructor(private readonly database: Database) {}

  async create(
    orgId: string,
    input: { title: string; description: string; settings: InterviewSettings; createdBy: string; at: Date },
    pinned: PinnedQuestion[],
  ): Promise<string> {
    return this.database.primary.transaction(async (tx) => {
      const [row] = await tx
        .insert(interviews)
        .values({ orgId, ...input, status: 'draft', createdAt: input.at, updatedAt: input.at })
        .returning({ id: interviews.id });
      await this.insertQuestions(tx, orgId, row!.id, pinned, input.at);
      return row!.id;
    });
  }

  async find(
    orgId: string,
    interviewId: string,
    executor: Executor = this.database.primary,
  ): Promise<InterviewWithQuestions | null> {
    const [interview] = await executor
      .select()
      .from(interviews)
      .where(and(eq(interviews.orgId, orgId), eq(interviews.id, interviewId)));
    if (!interview) return null;
    return { interview, questions: await this.questionsOf(orgId, interviewId, executor) };
  }

  async questionsOf(
    orgId: string,
    interviewId: string,
    executor: Executor = this.database.primary,
  ): Promise<InterviewQuestionRecord[]> {
    const rows = await executor
      .select({ iq: interviewQuestions, text: questionVersions.text, version: questionVersions.version })
      .from(interviewQuestions)
      .innerJoin(questionVersions, eq(questionVersions.id, interviewQuestions.questionVersionId))
      .where(and(eq(interviewQuestions.orgId, orgId), eq(interviewQuestions.interviewId, interviewId)))
      .orderBy(asc(interviewQuestions.position));
    return rows.map((r) => ({ ...r.iq, text: r.text, version: r.version }));
  }

  async list(
    orgId: string,
    filter: { status?: InterviewStatus; limit: number; offset: number },
  ): Promise<{ interview: InterviewRecord; questionCount: number }[]> {
    const rows = await this.database.db
      .select()
      .from(interviews)
      .where(and(eq(interviews.orgId, orgId), filter.status ? eq(interviews.status, filter.status) : undefined))
      .orderBy(desc(interviews.createdAt), asc(interviews.id))
      .limit(filter.limit)
      .offset(filter.offset);
    if (rows.length === 0) return [];
    const counts = await this.database.db
      .select({ interviewId: interviewQuestions.interviewId, n: count() })
      .from(interviewQuestions)
      .where(
        and(
          eq(interviewQuestions.orgId, orgId),
          inArray(
            interviewQuestions.interviewId,
            rows.map((r) => r.id),
          ),
        ),
      )
      .groupBy(interviewQuestions.interviewId);
    const byId = new Map(counts.map((c) => [c.interviewId, c.n]));
    return rows.map((interview) => ({ interview, questionCount: byId.get(interview.id) ?? 0 }));
  }

  /**
   * Edits an interview; the question list and settings only while it is a draft (checked in the
   * same statement, so a concurrent publish cannot slip between check and write). False when no
   * row matched.
   */
  async update(
    orgId: string,
    interviewId: string,
    patch: { title?: string; description?: string; settings?: InterviewSettings },
    pinned: PinnedQuestion[] | undefined,
    at: Date,
  ): Promise<boolean> {
    return this.database.primary.transaction(async (tx) => {
      const draftOnly = patch.settings !== undefined || pinned !== undefined;
      const rows = await tx
        .update(interviews)
        .set({ ...patch, updatedAt: at })
        .where(
          and(
            eq(interviews.orgId, orgId),
            eq(interviews.id, interviewId),
            draftOnly ? eq(interviews.status, 'draft') : inArray(interviews.status, ['draft', 'published']),
          ),
        )
        .returning({ id: interviews.id });
      if (rows.length === 0) return false;
      if (pinned) {
        await tx
          .delete(interviewQuestions)
          .where(and(eq(interviewQuestions.orgId, orgId), eq(interviewQuestions.interviewId, interviewId)));
        await this.insertQuestions(tx, orgId, interviewId, pinned, at);
      }
      return true;
    });
  }

  /** Moves the interview from one of `from` to `to`; null when it was in none of them. */
  async setStatus(
    orgId: string,
    interviewId: string,
    from: InterviewStatus[],
    to: InterviewStatus,
    at: Date,
  ): Promise<InterviewRecord | null> {
    const [row] = await this.database.primary
      .update(interviews)
      .set({
        status: to,
        updatedAt: at,
        ...(to === 'published' ? { publishedAt: at } : {}),
        ...(to === 'archived' ? { archivedAt: at } : {}),
      })
      .where(and(eq(interviews.orgId, orgId), eq(interviews.id, interviewId), inArray(interviews.status, from)))
      .returning();
    return row ?? null;
  }

  private async insertQuestions(
    tx: Executor,
    orgId: string,
    interviewId: string,
    pinned: PinnedQuestion[],
    at: Date,
  ): Promise<void> {
    if (pinned.length === 0) return;
    await tx
      .insert(interviewQuestions)
      .values(pinned.map((p, position) => ({ orgId, interviewId, position, ...p, createdAt: at, updatedAt: at })));
  }
}

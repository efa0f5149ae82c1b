import { and, arrayContains, asc, desc, eq, ilike, isNotNull, isNull, or, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../infra/db/database.ts';
import { questions, questionVersions, type Rubric } from '../infra/db/schema.ts';
import { likePattern, type Executor } from './db.ts';

export type QuestionRecord = typeof questions.$inferSelect;
export type QuestionVersionRecord = typeof questionVersions.$inferSelect;
export interface QuestionWithVersion {
  question: QuestionRecord;
  version: QuestionVersionRecord;
}

export interface QuestionMetadata {
  category?: string;
  difficulty?: number | null;
  tags?: string[];
  expectedSeconds?: number | null;
}

export interface QuestionFilter {
  text?: string;
  category?: string;
  tag?: string;
  difficulty?: number;
  archived: boolean;
  limit: number;
  offset: number;
}

/** Questions and their immutable versions. Every method is scoped by organisation. */
export class QuestionBankRepository {
  constructor(private readonly database: Database) {}

  async create(
    orgId: string,
    input: Required<QuestionMetadata> & { text: string; rubric: Rubric; createdBy: string | null; at: Date },
  ): Promise<QuestionWithVersion> {
    return this.database.primary.transaction(async (tx) => {
      const [question] = await tx
        .insert(questions)
        .values({
          orgId,
          category: input.category,
          difficulty: input.difficulty,
          tags: input.tags,
          expectedSeconds: input.expectedSeconds,
          latestVersion: 1,
          createdBy: input.createdBy,
          createdAt: input.at,
          updatedAt: input.at,
        })
        .returning();
      const [version] = await tx
        .insert(questionVersions)
        .values({
          orgId,
          questionId: question!.id,
          version: 1,
          text: input.text,
          rubric: input.rubric,
          createdBy: input.createdBy,
          createdAt: input.at,
        })
        .returning();
      return { question: question!, version: version! };
    });
  }

  async find(
    orgId: string,
    questionId: string,
    executor: Executor = this.database.primary,
  ): Promise<QuestionWithVersion | null> {
    const [row] = await executor
      .select({ question: questions, version: questionVersions })
      .from(questions)
      .innerJoin(
        questionVersions,
        and(eq(questionVersions.questionId, questions.id), eq(questionVersions.version, questions.latestVersion)),
      )
      .where(and(eq(questions.orgId, orgId), eq(questions.id, questionId)));
    return row ?? null;
  }

  async list(orgId: string, filter: QuestionFilter): Promise<QuestionWithVersion[]> {
    const conditions: (SQL | undefined)[] = [
      eq(questions.orgId, orgId),
      filter.archived ? isNotNull(questions.archivedAt) : isNull(questions.archivedAt),
    ];
    if (filter.text) {
      const pattern = likePattern(filter.text);
      conditions.push(or(ilike(questionVersions.text, pattern), ilike(questions.category, pattern)));
    }
    if (filter.category) conditions.push(eq(sql`lower(${questions.category})`, filter.category.toLowerCase()));
    if (filter.tag) conditions.push(arrayContains(questions.tags, [filter.tag]));
    if (filter.difficulty !== undefined) conditions.push(eq(questions.difficulty, filter.difficulty));
    return this.database.db
      .select({ question: questions, version: questionVersions })
      .from(questions)
      .innerJoin(
        questionVersions,
        and(eq(questionVersions.questionId, questions.id), eq(questionVersions.version, questions.latestVersion)),
      )
      .where(and(...conditions))
      .orderBy(desc(questions.updatedAt), asc(questions.id))
      .limit(filter.limit)
      .offset(filter.offset);
  }

  /**
   * Adds version n+1 and moves `latest_version` to it. The row lock taken by the UPDATE orders
   * concurrent edits of one question, so two edits never claim the same number.
   */
  async addVersion(
    orgId: string,
    questionId: string,
    input: { text: string; rubric: Rubric; createdBy: string | null; at: Date; metadata: QuestionMetadata },
  ): Promise<QuestionWithVersion | null> {
    return this.database.primary.transaction(async (tx) => {
      const [question] = await tx
        .update(questions)
        .set({ ...input.metadata, latestVersion: sql`${questions.latestVersion} + 1`, updatedAt: input.at })
        .where(and(eq(questions.orgId, orgId), eq(questions.id, questionId)))
        .returning();
      if (!question) return null;
      const [version] = await tx
        .insert(questionVersions)
        .values({
          orgId,
          questionId,
          version: question.latestVersion,
          text: input.text,
          rubric: input.rubric,
          createdBy: input.createdBy,
          createdAt: input.at,
        })
        .returning();
      return { question, version: version! };
    });
  }

  async updateMetadata(orgId: string, questionId: string, metadata: QuestionMetadata, at: Date): Promise<boolean> {
    const rows = await this.database.primary
      .update(questions)
      .set({ ...metadata, updatedAt: at })
      .where(and(eq(questions.orgId, orgId), eq(questions.id, questionId)))
      .returning({ id: questions.id });
    return rows.length > 0;
  }

  async setArchived(orgId: string, questionId: string, archivedAt: Date | null, at: Date): Promise<boolean> {
    const rows = await this.database.primary
      .update(questions)
      .set({ archivedAt, updatedAt: at })
      .where(and(eq(questions.orgId, orgId), eq(questions.id, questionId)))
      .returning({ id: questions.id });
    return rows.length > 0;
  }

  async listVersions(orgId: string, questionId: string): Promise<QuestionVersionRecord[]> {
    return this.database.db
      .select()
      .from(questionVersions)
      .where(and(eq(questionVersions.orgId, orgId), eq(questionVersions.questionId, questionId)))
      .orderBy(desc(questionVersions.version));
  }

  async findVersion(
    orgId: string,
    questionId: string,
    version: number,
    executor: Executor = this.database.primary,
  ): Promise<QuestionVersionRecord | null> {
    const [row] = await executor
      .select()
      .from(questionVersions)
      .where(
        and(
          eq(questionVersions.orgId, orgId),
          eq(questionVersions.questionId, questionId),
          eq(questionVersions.version, version),
        ),
      );
    return row ?? null;
  }
}

import { and, eq, sql } from 'drizzle-orm';
import type { Database, Db } from '../../infra/db/database.ts';
import { answerMedia, answers, auditLog } from '../../infra/db/schema.ts';

export type AnswerMediaRow = typeof answerMedia.$inferSelect;

export interface ProcessedMedia {
  /** Null for an audio-only recording, which has nothing to transcode. */
  videoKey: string | null;
  posterKey: string | null;
  audioKey: string | null;
  framesPrefix: string | null;
  frameCount: number;
  durationMs: number | null;
  width: number | null;
  height: number | null;
}

/** The rows video processing reads and writes; every method is scoped by organisation. */
export class AnswerMediaRepository {
  constructor(private readonly database: Database) {}

  async findAnswer(orgId: string, answerId: string) {
    const [row] = await this.database.primary
      .select({ id: answers.id, sessionId: answers.sessionId, mediaKey: answers.mediaKey })
      .from(answers)
      .where(and(eq(answers.orgId, orgId), eq(answers.id, answerId)));
    return row ?? null;
  }

  async find(orgId: string, answerId: string): Promise<AnswerMediaRow | null> {
    const [row] = await this.database.primary
      .select()
      .from(answerMedia)
      .where(and(eq(answerMedia.orgId, orgId), eq(answerMedia.answerId, answerId)));
    return row ?? null;
  }

  /** Marks the answer's media as being processed (again), counting the attempt. */
  async begin(input: { orgId: string; sessionId: string; answerId: string; sourceKey: string }): Promise<void> {
    await this.database.primary
      .insert(answerMedia)
      .values({ ...input, status: 'processing', attempts: 1 })
      .onConflictDoUpdate({
        target: answerMedia.answerId,
        set: {
          sourceKey: input.sourceKey,
          status: 'processing',
          error: null,
          attempts: sql`${answerMedia.attempts} + 1`,
          updatedAt: new Date(),
        },
      });
  }

  /**
   * Records the results, the answer's duration and an audit entry in one transaction, guarded by
   * `claim` (which inserts the processed-message mark): a redelivery that got this far commits nothing.
   */
  async complete(
    orgId: string,
    answerId: string,
    media: ProcessedMedia,
    claim: (tx: Db) => Promise<boolean>,
  ): Promise<boolean> {
    return this.database.primary.transaction(async (tx) => {
      if (!(await claim(tx))) return false;
      const now = new Date();
      const [row] = await tx
        .update(answerMedia)
        .set({ ...media, status: 'ready', error: null, processedAt: now, updatedAt: now })
        .where(and(eq(answerMedia.orgId, orgId), eq(answerMedia.answerId, answerId)))
        .returning({ sessionId: answerMedia.sessionId });
      if (media.durationMs !== null) {
        await tx
          .update(answers)
          .set({ durationMs: media.durationMs })
          .where(and(eq(answers.orgId, orgId), eq(answers.id, answerId), sql`${answers.durationMs} is null`));
      }
      await tx.insert(auditLog).values({
        orgId,
        action: 'answer.media.processed',
        targetType: 'answer',
        targetId: answerId,
        metadata: { sessionId: row?.sessionId, frameCount: media.frameCount, durationMs: media.durationMs },
      });
      return true;
    });
  }

  /** A permanent failure: recorded once, with the reason, so nobody retries it blindly. */
  async fail(orgId: string, answerId: string, error: string): Promise<void> {
    await this.database.primary.transaction(async (tx) => {
      const [row] = await tx
        .update(answerMedia)
        .set({ status: 'failed', error: error.slice(0, 2_000), updatedAt: new Date() })
        .where(and(eq(answerMedia.orgId, orgId), eq(answerMedia.answerId, answerId)))
        .returning({ sessionId: answerMedia.sessionId });
      await tx.insert(auditLog).values({
        orgId,
        action: 'answer.media.failed',
        targetType: 'answer',
        targetId: answerId,
        metadata: { sessionId: row?.sessionId, error: error.slice(0, 500) },
      });
    });
  }
}

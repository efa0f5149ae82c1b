import { and, asc, eq, gt, max } from 'drizzle-orm';
import type { Database } from '../infra/db/database.ts';
import { answers, frames } from '../infra/db/schema.ts';

export type FrameRow = typeof frames.$inferSelect;

/** The `frames` table. Every method takes the organisation id; all reads go to the primary. */
export class FrameRepository {
  constructor(private readonly database: Database) {}

  /** Inserts a frame unless its (session, seq) exists; returns the row written, or undefined. */
  async insert(
    orgId: string,
    frame: { id: string; sessionId: string; seq: number; storageKey: string; sizeBytes: number; capturedAt: Date },
  ): Promise<FrameRow | undefined> {
    const [row] = await this.database.primary
      .insert(frames)
      .values({ ...frame, orgId })
      .onConflictDoNothing({ target: [frames.sessionId, frames.seq] })
      .returning();
    return row;
  }

  async find(orgId: string, sessionId: string, seq: number): Promise<FrameRow | undefined> {
    const [row] = await this.database.primary
      .select()
      .from(frames)
      .where(and(eq(frames.orgId, orgId), eq(frames.sessionId, sessionId), eq(frames.seq, seq)))
      .limit(1);
    return row;
  }

  /** Stored seqs after `afterSeq`, ascending, at most `limit`. */
  async seqsAfter(orgId: string, sessionId: string, afterSeq: number, limit: number): Promise<number[]> {
    const rows = await this.database.primary
      .select({ seq: frames.seq })
      .from(frames)
      .where(and(eq(frames.orgId, orgId), eq(frames.sessionId, sessionId), gt(frames.seq, afterSeq)))
      .orderBy(asc(frames.seq))
      .limit(limit);
    return rows.map((r) => r.seq);
  }

  async highestSeq(orgId: string, sessionId: string): Promise<number | null> {
    const [row] = await this.database.primary
      .select({ seq: max(frames.seq) })
      .from(frames)
      .where(and(eq(frames.orgId, orgId), eq(frames.sessionId, sessionId)));
    return row?.seq ?? null;
  }

  async answerBelongs(orgId: string, sessionId: string, answerId: string): Promise<boolean> {
    const [row] = await this.database.primary
      .select({ id: answers.id })
      .from(answers)
      .where(and(eq(answers.orgId, orgId), eq(answers.sessionId, sessionId), eq(answers.id, answerId)))
      .limit(1);
    return row !== undefined;
  }
}

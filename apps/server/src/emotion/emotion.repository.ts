import { and, eq } from 'drizzle-orm';
import type { Database } from '../infra/db/database.ts';
import { effectiveEmotionPolicy, videoAnalysisConsented } from '../shared/video-analysis.ts';
import {
  emotionAnalysis,
  interviewSessions,
  organizations,
  processedMessages,
  type EmotionPolicy,
  type EmotionSource,
} from '../infra/db/schema.ts';

export type EmotionAnalysisRow = typeof emotionAnalysis.$inferSelect;
export type NewEmotionAnalysis = Omit<typeof emotionAnalysis.$inferInsert, 'id' | 'createdAt' | 'orgId'>;

/** Whether a session's frames may be analysed, and under which policy. */
export interface AnalysisPermission {
  /** The session exists in this organisation. */
  found: boolean;
  /** The stricter of the organisation's current policy and the session's snapshot. */
  policy: EmotionPolicy;
  /** The candidate's newest `video_analysis` consent is a grant. */
  consented: boolean;
}

/** The emotion context's tables. Every method takes the organisation id. */
export class EmotionRepository {
  constructor(private readonly database: Database) {}

  async permission(orgId: string, sessionId: string): Promise<AnalysisPermission> {
    const db = this.database.primary;
    const [row] = await db
      .select({ orgSettings: organizations.settings, sessionSettings: interviewSessions.settings })
      .from(interviewSessions)
      .innerJoin(organizations, eq(organizations.id, interviewSessions.orgId))
      .where(and(eq(interviewSessions.orgId, orgId), eq(interviewSessions.id, sessionId)))
      .limit(1);
    if (!row) return { found: false, policy: 'off', consented: false };
    return {
      found: true,
      policy: effectiveEmotionPolicy(row.orgSettings.emotionPolicy, row.sessionSettings.emotionPolicy),
      consented: await videoAnalysisConsented(db, orgId, sessionId),
    };
  }

  /** The stored analysis of a frame, if any. Reads the primary (read-your-writes). */
  async findFrame(
    orgId: string,
    sessionId: string,
    source: EmotionSource,
    seq: number,
  ): Promise<EmotionAnalysisRow | undefined> {
    const [row] = await this.database.primary
      .select()
      .from(emotionAnalysis)
      .where(
        and(
          eq(emotionAnalysis.orgId, orgId),
          eq(emotionAnalysis.sessionId, sessionId),
          eq(emotionAnalysis.source, source),
          eq(emotionAnalysis.frameSeq, seq),
        ),
      )
      .limit(1);
    return row;
  }

  /**
   * Records one frame's analysis and the delivery that produced it, in one transaction. A frame
   * already recorded (same session, source, seq) or a message already processed leaves the
   * table unchanged; either way the stored row is returned.
   */
  async recordFrame(
    orgId: string,
    row: NewEmotionAnalysis,
    delivery: { consumer: string; messageId: string },
  ): Promise<{ row: EmotionAnalysisRow; created: boolean }> {
    const inserted = await this.database.primary.transaction(async (tx) => {
      await tx.insert(processedMessages).values(delivery).onConflictDoNothing();
      const [created] = await tx
        .insert(emotionAnalysis)
        .values({ ...row, orgId })
        .onConflictDoNothing({ target: [emotionAnalysis.sessionId, emotionAnalysis.source, emotionAnalysis.frameSeq] })
        .returning();
      return created;
    });
    if (inserted) return { row: inserted, created: true };
    const existing = await this.findFrame(orgId, row.sessionId, row.source ?? 'stream', row.frameSeq);
    if (!existing) throw new Error(`emotion_analysis row for frame ${row.frameSeq} vanished after a conflict`);
    return { row: existing, created: false };
  }
}

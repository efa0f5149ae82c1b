import { and, between, eq, sql, TransactionRollbackError } from 'drizzle-orm';
import type { NewEmotionAnalysis } from '../../emotion/index.ts';
import type { Database, Db } from '../../infra/db/database.ts';
import { answers, emotionAnalysis, interviewSessions, videoEmotionRuns } from '../../infra/db/schema.ts';

export type VideoEmotionRun = typeof videoEmotionRuns.$inferSelect;

/** Frame sequence numbers of one answer's slot: `slot × SLOT_SIZE + frame index`. */
export const SLOT_SIZE = 1_000_000;

export interface RunInput {
  orgId: string;
  sessionId: string;
  answerId: string;
  sourceKey: string;
  framesPrefix: string;
  framesPerSecond: number;
  framesTotal: number;
}

/** Rows written per INSERT: 11 columns each, well under PostgreSQL's 65 535 parameters. */
const INSERT_CHUNK = 500;

/** `video_emotion_runs` and the `emotion_analysis` rows (source `video`) they own; scoped by organisation. */
export class VideoEmotionRepository {
  constructor(private readonly database: Database) {}

  async find(orgId: string, answerId: string): Promise<VideoEmotionRun | null> {
    const [row] = await this.database.primary
      .select()
      .from(videoEmotionRuns)
      .where(and(eq(videoEmotionRuns.orgId, orgId), eq(videoEmotionRuns.answerId, answerId)));
    return row ?? null;
  }

  /** When the answer started (frame 0 of its recording), for the rows' `frame_ts`. */
  async answerStart(orgId: string, answerId: string): Promise<Date | null> {
    const [row] = await this.database.primary
      .select({ startedAt: answers.answerStartedAt, createdAt: answers.createdAt })
      .from(answers)
      .where(and(eq(answers.orgId, orgId), eq(answers.id, answerId)));
    return row ? (row.startedAt ?? row.createdAt) : null;
  }

  /**
   * Starts (or restarts) the run of an answer's recording and returns it, or `finished` when this
   * recording's run is already done or skipped. A new recording of the answer keeps the answer's
   * slot and deletes the rows of the previous one. A new run takes the session's next free slot;
   * the session row is locked meanwhile so two answers of a session cannot take the same one.
   */
  async start(
    input: RunInput,
    now: Date,
  ): Promise<{ finished: true; run: VideoEmotionRun } | { finished: false; run: VideoEmotionRun }> {
    return this.database.primary.transaction(async (tx) => {
      await tx
        .select({ id: interviewSessions.id })
        .from(interviewSessions)
        .where(and(eq(interviewSessions.orgId, input.orgId), eq(interviewSessions.id, input.sessionId)))
        .for('update');
      const [existing] = await tx
        .select()
        .from(videoEmotionRuns)
        .where(and(eq(videoEmotionRuns.orgId, input.orgId), eq(videoEmotionRuns.answerId, input.answerId)));
      const restart = {
        sourceKey: input.sourceKey,
        framesPrefix: input.framesPrefix,
        framesPerSecond: input.framesPerSecond,
        framesTotal: input.framesTotal,
        framesDone: 0,
        status: 'running' as const,
        summary: null,
        error: null,
        startedAt: now,
        finishedAt: null,
        updatedAt: now,
      };
      if (existing) {
        const sameRecording = existing.sourceKey === input.sourceKey && existing.framesPrefix === input.framesPrefix;
        if (sameRecording && (existing.status === 'done' || existing.status === 'skipped')) {
          return { finished: true as const, run: existing };
        }
        if (!sameRecording) await deleteSlotRows(tx, input.orgId, existing);
        const [run] = await tx
          .update(videoEmotionRuns)
          .set({ ...restart, attempts: sql`${videoEmotionRuns.attempts} + 1` })
          .where(and(eq(videoEmotionRuns.orgId, input.orgId), eq(videoEmotionRuns.id, existing.id)))
          .returning();
        return { finished: false as const, run: run! };
      }
      const [{ slot }] = (await tx
        .select({ slot: sql<number>`coalesce(max(${videoEmotionRuns.seqSlot}) + 1, 0)::int` })
        .from(videoEmotionRuns)
        .where(eq(videoEmotionRuns.sessionId, input.sessionId))) as [{ slot: number }];
      const [run] = await tx
        .insert(videoEmotionRuns)
        .values({
          ...restart,
          orgId: input.orgId,
          sessionId: input.sessionId,
          answerId: input.answerId,
          seqSlot: slot,
          attempts: 1,
        })
        .returning();
      return { finished: false as const, run: run! };
    });
  }

  /** Frames analysed so far, for progress displays. */
  async progress(orgId: string, runId: string, framesDone: number): Promise<void> {
    await this.database.primary
      .update(videoEmotionRuns)
      .set({ framesDone, updatedAt: new Date() })
      .where(
        and(eq(videoEmotionRuns.orgId, orgId), eq(videoEmotionRuns.id, runId), eq(videoEmotionRuns.status, 'running')),
      );
  }

  /**
   * Writes every frame's row and the summary in one transaction, guarded by `claim` (the
   * processed-message mark) and by the run still running this recording: a redelivery or a
   * concurrent duplicate that gets here second commits nothing. Rows already present (same
   * session, source and sequence number) are left alone.
   */
  async complete(
    orgId: string,
    run: VideoEmotionRun,
    rows: NewEmotionAnalysis[],
    summary: Record<string, unknown>,
    claim: (tx: Db) => Promise<boolean>,
  ): Promise<boolean> {
    try {
      return await this.completeIn(orgId, run, rows, summary, claim);
    } catch (err) {
      if (err instanceof TransactionRollbackError) return false;
      throw err;
    }
  }

  private completeIn(
    orgId: string,
    run: VideoEmotionRun,
    rows: NewEmotionAnalysis[],
    summary: Record<string, unknown>,
    claim: (tx: Db) => Promise<boolean>,
  ): Promise<boolean> {
    return this.database.primary.transaction(async (tx) => {
      if (!(await claim(tx))) return false;
      const now = new Date();
      const [updated] = await tx
        .update(videoEmotionRuns)
        .set({
          status: 'done',
          framesDone: rows.length,
          framesTotal: rows.length,
          summary,
          finishedAt: now,
          updatedAt: now,
        })
        .where(
          and(
            eq(videoEmotionRuns.orgId, orgId),
            eq(videoEmotionRuns.id, run.id),
            eq(videoEmotionRuns.status, 'running'),
            eq(videoEmotionRuns.sourceKey, run.sourceKey),
          ),
        )
        .returning({ id: videoEmotionRuns.id });
      // Restarted for a newer recording, or finished by a concurrent duplicate: undo the claim too.
      if (!updated) tx.rollback();
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        await tx
          .insert(emotionAnalysis)
          .values(rows.slice(i, i + INSERT_CHUNK).map((r) => ({ ...r, orgId })))
          .onConflictDoNothing({
            target: [emotionAnalysis.sessionId, emotionAnalysis.source, emotionAnalysis.frameSeq],
          });
      }
      return true;
    });
  }

  /** Ends a run without rows: `skipped` (no consent, policy off) or `failed` (frames gone). */
  async finish(orgId: string, runId: string, status: 'skipped' | 'failed', reason: string): Promise<void> {
    const now = new Date();
    await this.database.primary
      .update(videoEmotionRuns)
      .set({ status, error: reason.slice(0, 2_000), finishedAt: now, updatedAt: now })
      .where(and(eq(videoEmotionRuns.orgId, orgId), eq(videoEmotionRuns.id, runId)));
  }
}

async function deleteSlotRows(tx: Db, orgId: string, run: VideoEmotionRun): Promise<void> {
  const first = run.seqSlot * SLOT_SIZE;
  await tx
    .delete(emotionAnalysis)
    .where(
      and(
        eq(emotionAnalysis.orgId, orgId),
        eq(emotionAnalysis.sessionId, run.sessionId),
        eq(emotionAnalysis.source, 'video'),
        between(emotionAnalysis.frameSeq, first, first + SLOT_SIZE - 1),
      ),
    );
}

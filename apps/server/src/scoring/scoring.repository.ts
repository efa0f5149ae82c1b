import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../infra/db/database.ts';
import {
  answers,
  emotionAnalysis,
  interviewQuestions,
  interviews,
  interviewSessions,
  processedMessages,
  questionVersions,
  reports,
  scores,
  users,
  type ReportKind,
  type Rubric,
  type ScoreKind,
  type TranscriptWord,
} from '../infra/db/schema.ts';

export type SessionRow = typeof interviewSessions.$inferSelect;
export type AnswerRow = typeof answers.$inferSelect;
export type ScoreRow = typeof scores.$inferSelect;
export type ReportRow = typeof reports.$inferSelect;

/** One question of the interview as scoring sees it: the pinned version and the attempt that counts. */
export interface QuestionItem {
  position: number;
  isPractice: boolean;
  questionVersion: { id: string; questionId: string; version: number; text: string; rubric: Rubric };
  /** The newest attempt at this position; null when the candidate never reached it. */
  answer: AnswerRow | null;
}

/** A score to store; the unique key is (session, kind, answer, criterion). */
export interface ScoreInput {
  kind: ScoreKind;
  answerId: string | null;
  criterion: string | null;
  score: number;
  maxScore: number;
  evidence: Record<string, unknown>;
  provider: string;
  model: string;
  promptVersion: string;
  questionVersionId: string | null;
  rubricVersion: number | null;
}

export interface EmotionFrameRow {
  frameTs: Date;
  faceDetected: boolean;
  emotion: string | null;
  blinkCount: number;
  metadata: Record<string, unknown>;
}

/** Reads and writes of the scoring context. Every method takes the organisation id. */
export class ScoringRepository {
  constructor(private readonly database: Database) {}

  async findSession(orgId: string, sessionId: string): Promise<SessionRow | null> {
    const [row] = await this.database.primary
      .select()
      .from(interviewSessions)
      .where(and(eq(interviewSessions.orgId, orgId), eq(interviewSessions.id, sessionId)));
    return row ?? null;
  }

  async sessionHeader(
    orgId: string,
    sessionId: string,
  ): Promise<{ session: SessionRow; interviewTitle: string; candidateName: string; candidateEmail: string } | null> {
    const [row] = await this.database.primary
      .select({ session: interviewSessions, interviewTitle: interviews.title, name: users.name, email: users.email })
      .from(interviewSessions)
      .innerJoin(interviews, eq(interviews.id, interviewSessions.interviewId))
      .innerJoin(users, eq(users.id, interviewSessions.candidateId))
      .where(and(eq(interviewSessions.orgId, orgId), eq(interviewSessions.id, sessionId)));
    return row
      ? { session: row.session, interviewTitle: row.interviewTitle, candidateName: row.name, candidateEmail: row.email }
      : null;
  }

  /**
   * The interview's questions in order, each with the newest attempt (a retake replaces the
   * earlier answer) and the question version that attempt was made against.
   */
  async questionItems(orgId: string, session: Pick<SessionRow, 'id' | 'interviewId'>): Promise<QuestionItem[]> {
    const slots = await this.database.primary
      .select({
        position: interviewQuestions.position,
        isPractice: interviewQuestions.isPractice,
        qvId: interviewQuestions.questionVersionId,
      })
      .from(interviewQuestions)
      .where(and(eq(interviewQuestions.orgId, orgId), eq(interviewQuestions.interviewId, session.interviewId)))
      .orderBy(asc(interviewQuestions.position));
    const attempts = await this.database.primary
      .select()
      .from(answers)
      .where(and(eq(answers.orgId, orgId), eq(answers.sessionId, session.id)))
      .orderBy(asc(answers.position), desc(answers.attempt));
    const latest = new Map<number, AnswerRow>();
    for (const a of attempts) if (!latest.has(a.position)) latest.set(a.position, a);
    const versionIds = [...new Set([...slots.map((s) => s.qvId), ...attempts.map((a) => a.questionVersionId)])];
    const versions = versionIds.length
      ? await this.database.primary
          .select()
          .from(questionVersions)
          .where(and(eq(questionVersions.orgId, orgId), inArray(questionVersions.id, versionIds)))
      : [];
    const byId = new Map(versions.map((v) => [v.id, v]));
    return slots.map((slot) => {
      const answer = latest.get(slot.position) ?? null;
      const v = byId.get(answer?.questionVersionId ?? slot.qvId)!;
      return {
        position: slot.position,
        isPractice: answer?.isPractice ?? slot.isPractice,
        questionVersion: { id: v.id, questionId: v.questionId, version: v.version, text: v.text, rubric: v.rubric },
        answer,
      };
    });
  }

  async saveTranscript(
    orgId: string,
    answerId: string,
    t: { text: string; words: TranscriptWord[]; source: string; durationMs: number },
  ): Promise<void> {
    await this.database.primary
      .update(answers)
      .set({ transcript: t.text, words: t.words, transcriptSource: t.source, durationMs: Math.round(t.durationMs) })
      .where(and(eq(answers.orgId, orgId), eq(answers.id, answerId)));
  }

  async listScores(orgId: string, sessionId: string): Promise<ScoreRow[]> {
    return this.database.primary
      .select()
      .from(scores)
      .where(and(eq(scores.orgId, orgId), eq(scores.sessionId, sessionId)))
      .orderBy(asc(scores.createdAt), asc(scores.id));
  }

  /**
   * Writes scores as one unit. A score that exists is updated in place (a re-run after a crash
   * converges on one row per key) and keeps any recruiter override.
   */
  async saveScores(
    orgId: string,
    sessionId: string,
    rows: ScoreInput[],
    delivery?: { consumer: string; messageId: string },
  ): Promise<void> {
    await this.database.primary.transaction(async (tx) => {
      for (const r of rows) {
        const values = { orgId, sessionId, ...r };
        await tx
          .insert(scores)
          .values(values)
          .onConflictDoUpdate({
            target: [scores.sessionId, scores.kind, scores.answerId, scores.criterion],
            set: {
              score: r.score,
              maxScore: r.maxScore,
              evidence: r.evidence,
              provider: r.provider,
              model: r.model,
              promptVersion: r.promptVersion,
              questionVersionId: r.questionVersionId,
              rubricVersion: r.rubricVersion,
              updatedAt: sql`now()`,
            },
          });
      }
      if (delivery) await tx.insert(processedMessages).values(delivery).onConflictDoNothing();
    });
  }

  /** Removes scores of a kind that no longer apply (e.g. an emotion score after consent was withdrawn). */
  async deleteSessionScore(orgId: string, sessionId: string, kind: ScoreKind): Promise<void> {
    await this.database.primary
      .delete(scores)
      .where(and(eq(scores.orgId, orgId), eq(scores.sessionId, sessionId), eq(scores.kind, kind)));
  }

  async isProcessed(consumer: string, messageId: string): Promise<boolean> {
    const [row] = await this.database.primary
      .select({ id: processedMessages.messageId })
      .from(processedMessages)
      .where(and(eq(processedMessages.consumer, consumer), eq(processedMessages.messageId, messageId)));
    return row !== undefined;
  }

  /**
   * The session's per-frame emotion rows from one source: the live stream when there is one
   * (frames seen while answering), else the batch analysis of the recordings. Mixing both would
   * count the same moments twice. Live frames captured before the session started are the
   * device check's (the candidate's "face detected" check) and are not part of the interview.
   */
  async emotionFrames(orgId: string, sessionId: string): Promise<EmotionFrameRow[]> {
    const [session] = await this.database.primary
      .select({ startedAt: interviewSessions.startedAt })
      .from(interviewSessions)
      .where(and(eq(interviewSessions.orgId, orgId), eq(interviewSessions.id, sessionId)));
    const startedAt = session?.startedAt ?? null;
    const rows = await this.database.primary
      .select({
        source: emotionAnalysis.source,
        frameTs: emotionAnalysis.frameTs,
        faceDetected: emotionAnalysis.faceDetected,
        emotion: emotionAnalysis.emotion,
        blinkCount: emotionAnalysis.blinkCount,
        metadata: emotionAnalysis.metadata,
      })
      .from(emotionAnalysis)
      .where(and(eq(emotionAnalysis.orgId, orgId), eq(emotionAnalysis.sessionId, sessionId)))
      .orderBy(asc(emotionAnalysis.frameTs), asc(emotionAnalysis.frameSeq));
    const interview = rows.filter((r) => r.source !== 'stream' || startedAt === null || r.frameTs >= startedAt);
    const live = interview.filter((r) => r.source === 'stream');
    return (live.length > 0 ? live : interview).map(({ source: _source, ...row }) => row);
  }

  /** Sets a human override on one score; the original stays in `score`. */
  async override(
    orgId: string,
    sessionId: string,
    scoreId: string,
    o: { score: number; reason: string; by: string; at: Date },
  ): Promise<ScoreRow | null> {
    const [row] = await this.database.primary
      .update(scores)
      .set({ overrideScore: o.score, overrideReason: o.reason, overriddenBy: o.by, overriddenAt: o.at })
      .where(and(eq(scores.orgId, orgId), eq(scores.sessionId, sessionId), eq(scores.id, scoreId)))
      .returning();
    return row ?? null;
  }

  /** The session's report of a kind: `feedback` once released, `pdf` once printed. */
  async findReport(orgId: string, sessionId: string, kind: ReportKind): Promise<ReportRow | null> {
    const [row] = await this.database.primary
      .select()
      .from(reports)
      .where(and(eq(reports.orgId, orgId), eq(reports.sessionId, sessionId), eq(reports.kind, kind)));
    return row ?? null;
  }

  /** Marks the candidate feedback released; returns null when it already was. */
  async releaseFeedback(orgId: string, sessionId: string): Promise<ReportRow | null> {
    const [row] = await this.database.primary
      .insert(reports)
      .values({ orgId, sessionId, kind: 'feedback', status: 'ready' })
      .onConflictDoNothing({ target: [reports.sessionId, reports.kind] })
      .returning();
    return row ?? null;
  }

  /**
   * Records that the PDF at `storageKey` (named after the hash of the report's HTML) was asked
   * for: the `pdf` row becomes `pending` at `at`, unless it already is that PDF, ready.
   */
  async markPdfRequested(orgId: string, sessionId: string, storageKey: string, at: Date): Promise<void> {
    await this.database.primary
      .insert(reports)
      .values({ orgId, sessionId, kind: 'pdf', status: 'pending', storageKey, createdAt: at, updatedAt: at })
      .onConflictDoUpdate({
        target: [reports.sessionId, reports.kind],
        set: { status: 'pending', storageKey, error: null, updatedAt: at },
        where: and(
          eq(reports.orgId, orgId),
          sql`not (${reports.status} = 'ready' and ${reports.storageKey} = ${storageKey})`,
        ),
      });
  }

  /** Points the session's `html` and `pdf` rows at the objects just stored, both `ready`. */
  async saveRendered(orgId: string, sessionId: string, keys: { html: string; pdf: string }, at: Date): Promise<void> {
    await this.database.primary.transaction(async (tx) => {
      for (const [kind, storageKey] of [
        ['html', keys.html],
        ['pdf', keys.pdf],
      ] as const) {
        await tx
          .insert(reports)
          .values({ orgId, sessionId, kind, status: 'ready', storageKey, createdAt: at, updatedAt: at })
          .onConflictDoUpdate({
            target: [reports.sessionId, reports.kind],
            set: { status: 'ready', storageKey, error: null, updatedAt: at },
            where: eq(reports.orgId, orgId),
          });
      }
    });
  }

  /** Records that printing the PDF at `storageKey` failed for good (after the job's last attempt). */
  async markPdfFailed(orgId: string, sessionId: string, storageKey: string, error: string, at: Date): Promise<void> {
    await this.database.primary
      .insert(reports)
      .values({ orgId, sessionId, kind: 'pdf', status: 'failed', storageKey, error, createdAt: at, updatedAt: at })
      .onConflictDoUpdate({
        target: [reports.sessionId, reports.kind],
        set: { status: 'failed', storageKey, error, updatedAt: at },
        where: eq(reports.orgId, orgId),
      });
  }
}

import { and, asc, eq, isNotNull } from 'drizzle-orm';
import type { Database } from '../infra/db/database.ts';
import {
  answerMedia,
  answers,
  interviewSessions,
  type AnswerMediaStatus,
  type TranscriptWord,
} from '../infra/db/schema.ts';

/** A recorded answer attempt and what video processing made of it. */
export interface RecordingRow {
  answerId: string;
  sessionId: string;
  position: number;
  attempt: number;
  isPractice: boolean;
  mediaKey: string;
  mediaContentType: string | null;
  durationMs: number | null;
  transcript: string | null;
  transcriptSource: string | null;
  words: TranscriptWord[] | null;
  media: {
    sourceKey: string;
    status: AnswerMediaStatus;
    videoKey: string | null;
    posterKey: string | null;
    durationMs: number | null;
    width: number | null;
    height: number | null;
  } | null;
}

/** Reads of recordings for playback. Every method is scoped by organisation. */
export class MediaRepository {
  constructor(private readonly database: Database) {}

  /** The session's recorded attempts; null when the organisation has no such session. */
  async sessionRecordings(orgId: string, sessionId: string): Promise<RecordingRow[] | null> {
    const [session] = await this.database.db
      .select({ id: interviewSessions.id })
      .from(interviewSessions)
      .where(and(eq(interviewSessions.orgId, orgId), eq(interviewSessions.id, sessionId)));
    if (!session) return null;
    const rows = await this.select()
      .where(and(eq(answers.orgId, orgId), eq(answers.sessionId, sessionId), isNotNull(answers.mediaKey)))
      .orderBy(asc(answers.position), asc(answers.attempt));
    return rows.map(toRecording);
  }

  /** One recorded attempt; null when the organisation has no such answer or it has no recording. */
  async recording(orgId: string, answerId: string): Promise<RecordingRow | null> {
    const [row] = await this.select().where(
      and(eq(answers.orgId, orgId), eq(answers.id, answerId), isNotNull(answers.mediaKey)),
    );
    return row ? toRecording(row) : null;
  }

  private select() {
    return this.database.db
      .select({ answer: answers, media: answerMedia })
      .from(answers)
      .leftJoin(answerMedia, and(eq(answerMedia.orgId, answers.orgId), eq(answerMedia.answerId, answers.id)))
      .$dynamic();
  }
}

function toRecording(row: {
  answer: typeof answers.$inferSelect;
  media: typeof answerMedia.$inferSelect | null;
}): RecordingRow {
  const { answer: a, media: m } = row;
  return {
    answerId: a.id,
    sessionId: a.sessionId,
    position: a.position,
    attempt: a.attempt,
    isPractice: a.isPractice,
    mediaKey: a.mediaKey ?? '',
    mediaContentType: a.mediaContentType,
    durationMs: a.durationMs,
    transcript: a.transcript,
    transcriptSource: a.transcriptSource,
    words: a.words,
    media: m
      ? {
          sourceKey: m.sourceKey,
          status: m.status,
          videoKey: m.videoKey,
          posterKey: m.posterKey,
          durationMs: m.durationMs,
          width: m.width,
          height: m.height,
        }
      : null,
  };
}

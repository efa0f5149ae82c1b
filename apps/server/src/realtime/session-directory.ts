import { and, eq, inArray } from 'drizzle-orm';
import type { Database } from '../infra/db/database.ts';
import { effectiveEmotionPolicy, videoAnalysisConsented } from '../shared/video-analysis.ts';
import { interviewSessions, organizations, type EmotionPolicy, type SessionStatus } from '../infra/db/schema.ts';

/** What the realtime context needs to know about a session to authorise and route. */
export interface SessionInfo {
  id: string;
  orgId: string;
  candidateId: string;
  status: SessionStatus;
  currentPosition: number;
  /** When the session row was last written: orders what is read against what is announced. */
  updatedAt: Date;
  /** The candidate's newest `video_analysis` consent is a grant. */
  videoAnalysisConsent: boolean;
  /** The stricter of the organisation's current policy and the session's snapshot. */
  emotionPolicy: EmotionPolicy;
}

export type SessionState = Pick<SessionInfo, 'id' | 'orgId' | 'status' | 'currentPosition' | 'updatedAt'>;

/**
 * Read-only view of sessions, so the realtime context needs nothing from the interviews context
 * but the tables. Every lookup names the organisation: another tenant's session is not found.
 */
export interface SessionDirectory {
  get(orgId: string, sessionId: string): Promise<SessionInfo | undefined>;
  /** Status and position of several sessions, each under its own organisation; unknown ones are left out. */
  states(keys: readonly { orgId: string; sessionId: string }[]): Promise<SessionState[]>;
}

/**
 * Over the database, always on the primary: a consent given a moment ago over HTTP must be seen
 * by the next frame. The policy rule is the emotion consumer's, so a frame accepted here is one
 * the consumer will analyse.
 */
export class DrizzleSessionDirectory implements SessionDirectory {
  constructor(private readonly database: Database) {}

  async get(orgId: string, sessionId: string): Promise<SessionInfo | undefined> {
    const db = this.database.primary;
    const [row] = await db
      .select({
        id: interviewSessions.id,
        orgId: interviewSessions.orgId,
        candidateId: interviewSessions.candidateId,
        status: interviewSessions.status,
        currentPosition: interviewSessions.currentPosition,
        updatedAt: interviewSessions.updatedAt,
        sessionSettings: interviewSessions.settings,
        orgSettings: organizations.settings,
      })
      .from(interviewSessions)
      .innerJoin(organizations, eq(organizations.id, interviewSessions.orgId))
      .where(and(eq(interviewSessions.orgId, orgId), eq(interviewSessions.id, sessionId)))
      .limit(1);
    if (!row) return undefined;
    return {
      id: row.id,
      orgId: row.orgId,
      candidateId: row.candidateId,
      status: row.status,
      currentPosition: row.currentPosition,
      updatedAt: row.updatedAt,
      videoAnalysisConsent: await videoAnalysisConsented(db, orgId, sessionId),
      emotionPolicy: effectiveEmotionPolicy(row.orgSettings.emotionPolicy, row.sessionSettings.emotionPolicy),
    };
  }

  async states(keys: readonly { orgId: string; sessionId: string }[]): Promise<SessionState[]> {
    if (keys.length === 0) return [];
    const orgOf = new Map(keys.map((k) => [k.sessionId, k.orgId]));
    const rows = await this.database.primary
      .select({
        id: interviewSessions.id,
        orgId: interviewSessions.orgId,
        status: interviewSessions.status,
        currentPosition: interviewSessions.currentPosition,
        updatedAt: interviewSessions.updatedAt,
      })
      .from(interviewSessions)
      .where(
        and(
          inArray(interviewSessions.orgId, [...new Set(orgOf.values())]),
          inArray(interviewSessions.id, [...orgOf.keys()]),
        ),
      );
    return rows.filter((r) => orgOf.get(r.id) === r.orgId);
  }
}

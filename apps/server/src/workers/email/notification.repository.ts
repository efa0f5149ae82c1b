import { and, eq, inArray, isNull } from 'drizzle-orm';
import type { Database } from '../../infra/db/database.ts';
import { interviewSessions, interviews, invitations, organizations, scores, users } from '../../infra/db/schema.ts';

/** The rows the notification e-mails are written from; every query is scoped by organisation. */
export class NotificationRepository {
  constructor(private readonly database: Database) {}

  async invitation(orgId: string, invitationId: string) {
    const [row] = await this.database.primary
      .select({
        id: invitations.id,
        name: invitations.name,
        email: invitations.email,
        expiresAt: invitations.expiresAt,
        usedAt: invitations.usedAt,
        revokedAt: invitations.revokedAt,
        remindedAt: invitations.remindedAt,
        interviewTitle: interviews.title,
        interviewStatus: interviews.status,
        orgName: organizations.name,
      })
      .from(invitations)
      .innerJoin(interviews, eq(interviews.id, invitations.interviewId))
      .innerJoin(organizations, eq(organizations.id, invitations.orgId))
      .where(and(eq(invitations.orgId, orgId), eq(invitations.id, invitationId), eq(invitations.kind, 'candidate')));
    return row ?? null;
  }

  /** A recruiter's or admin's invitation (accounts context), with the organisation's name. */
  async staffInvitation(orgId: string, invitationId: string) {
    const [row] = await this.database.primary
      .select({
        id: invitations.id,
        name: invitations.name,
        email: invitations.email,
        role: invitations.role,
        expiresAt: invitations.expiresAt,
        usedAt: invitations.usedAt,
        revokedAt: invitations.revokedAt,
        orgName: organizations.name,
      })
      .from(invitations)
      .innerJoin(organizations, eq(organizations.id, invitations.orgId))
      .where(and(eq(invitations.orgId, orgId), eq(invitations.id, invitationId), eq(invitations.kind, 'recruiter')));
    return row ?? null;
  }

  /** Replaces the link's token (only its hash is stored) while the invitation is still pending. */
  async replaceToken(orgId: string, invitationId: string, tokenHash: string): Promise<boolean> {
    const rows = await this.database.primary
      .update(invitations)
      .set({ tokenHash, updatedAt: new Date() })
      .where(
        and(
          eq(invitations.orgId, orgId),
          eq(invitations.id, invitationId),
          isNull(invitations.usedAt),
          isNull(invitations.revokedAt),
        ),
      )
      .returning({ id: invitations.id });
    return rows.length > 0;
  }

  /** Records a delivered e-mail; a delivery clears the failure an earlier e-mail left. */
  async recordSent(orgId: string, invitationId: string, field: 'sentAt' | 'remindedAt', at: Date): Promise<void> {
    await this.database.primary
      .update(invitations)
      .set({ [field]: at, deliveryFailedAt: null, deliveryFailure: null, updatedAt: at })
      .where(and(eq(invitations.orgId, orgId), eq(invitations.id, invitationId)));
  }

  /** Records that an e-mail of the invitation failed for good, and why (shown to staff). */
  async recordFailure(orgId: string, invitationId: string, reason: string, at: Date): Promise<void> {
    await this.database.primary
      .update(invitations)
      .set({ deliveryFailedAt: at, deliveryFailure: reason, updatedAt: at })
      .where(and(eq(invitations.orgId, orgId), eq(invitations.id, invitationId)));
  }

  async session(orgId: string, sessionId: string) {
    const [row] = await this.database.primary
      .select({
        id: interviewSessions.id,
        status: interviewSessions.status,
        completedAt: interviewSessions.completedAt,
        candidateName: users.name,
        candidateEmail: users.email,
        interviewTitle: interviews.title,
        interviewOwner: interviews.createdBy,
        orgName: organizations.name,
      })
      .from(interviewSessions)
      .innerJoin(users, eq(users.id, interviewSessions.candidateId))
      .innerJoin(interviews, eq(interviews.id, interviewSessions.interviewId))
      .innerJoin(organizations, eq(organizations.id, interviewSessions.orgId))
      .where(and(eq(interviewSessions.orgId, orgId), eq(interviewSessions.id, sessionId)));
    return row ?? null;
  }

  /** Who hears that a report is ready: the interview's author, else every active recruiter and admin. */
  async reportRecipients(orgId: string, ownerId: string | null) {
    const staff = await this.database.primary
      .select({ id: users.id, name: users.name, email: users.email })
      .from(users)
      .where(and(eq(users.orgId, orgId), inArray(users.role, ['admin', 'recruiter']), isNull(users.disabledAt)));
    const owner = staff.find((u) => u.id === ownerId);
    return owner ? [owner] : staff;
  }

  /** The session's final score on a 0–5 scale (a human override wins); null when there is none. */
  async sessionScore(orgId: string, sessionId: string): Promise<number | null> {
    const [row] = await this.database.primary
      .select({ score: scores.score, override: scores.overrideScore, max: scores.maxScore })
      .from(scores)
      .where(and(eq(scores.orgId, orgId), eq(scores.sessionId, sessionId), eq(scores.kind, 'session')));
    if (!row || !(row.max > 0)) return null;
    return ((row.override ?? row.score) / row.max) * 5;
  }
}

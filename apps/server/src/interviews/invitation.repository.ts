import { and, desc, eq, gt, inArray, isNull, sql } from 'drizzle-orm';
import type { Database } from '../infra/db/database.ts';
import { invitations } from '../infra/db/schema.ts';
import type { Executor } from './db.ts';

export type InvitationRecord = typeof invitations.$inferSelect;

/** Candidate invitations. They carry only a SHA-256 of their token. Scoped by organisation, except the token lookup. */
export class InvitationRepository {
  constructor(private readonly database: Database) {}

  async insert(
    executor: Executor,
    orgId: string,
    input: {
      interviewId: string;
      sessionId: string;
      name: string;
      email: string;
      tokenHash: string;
      expiresAt: Date;
      createdBy: string;
      at: Date;
    },
  ): Promise<InvitationRecord> {
    const { at, ...values } = input;
    const [row] = await executor
      .insert(invitations)
      .values({ orgId, kind: 'candidate', ...values, createdAt: at, updatedAt: at })
      .returning();
    return row!;
  }

  async find(orgId: string, invitationId: string): Promise<InvitationRecord | null> {
    const [row] = await this.database.primary
      .select()
      .from(invitations)
      .where(and(eq(invitations.orgId, orgId), eq(invitations.id, invitationId), eq(invitations.kind, 'candidate')));
    return row ?? null;
  }

  async list(orgId: string, interviewId: string): Promise<InvitationRecord[]> {
    return this.database.db
      .select()
      .from(invitations)
      .where(
        and(eq(invitations.orgId, orgId), eq(invitations.interviewId, interviewId), eq(invitations.kind, 'candidate')),
      )
      .orderBy(desc(invitations.createdAt));
  }

  /** E-mails (lower-case) among `emails` that already hold a usable invitation to the interview. */
  async pendingEmails(orgId: string, interviewId: string, emails: string[], now: Date): Promise<string[]> {
    if (emails.length === 0) return [];
    const rows = await this.database.primary
      .select({ email: sql<string>`lower(${invitations.email})` })
      .from(invitations)
      .where(
        and(
          eq(invitations.orgId, orgId),
          eq(invitations.interviewId, interviewId),
          inArray(sql`lower(${invitations.email})`, emails),
          isNull(invitations.usedAt),
          isNull(invitations.revokedAt),
          gt(invitations.expiresAt, now),
        ),
      );
    return rows.map((r) => r.email);
  }

  /** Updates an invitation that is neither used nor revoked; null otherwise. */
  async updatePending(
    orgId: string,
    invitationId: string,
    set: Partial<Pick<InvitationRecord, 'tokenHash' | 'expiresAt' | 'sentAt' | 'remindedAt' | 'revokedAt'>>,
    at: Date,
    executor: Executor = this.database.primary,
  ): Promise<InvitationRecord | null> {
    const [row] = await executor
      .update(invitations)
      .set({ ...set, updatedAt: at })
      .where(
        and(
          eq(invitations.orgId, orgId),
          eq(invitations.id, invitationId),
          eq(invitations.kind, 'candidate'),
          isNull(invitations.usedAt),
          isNull(invitations.revokedAt),
        ),
      )
      .returning();
    return row ?? null;
  }

  /** Records that the invitation's e-mail failed for good (here: could not be queued), and why. */
  async recordDeliveryFailure(
    orgId: string,
    invitationId: string,
    reason: string,
    at: Date,
  ): Promise<InvitationRecord | null> {
    const [row] = await this.database.primary
      .update(invitations)
      .set({ deliveryFailedAt: at, deliveryFailure: reason, updatedAt: at })
      .where(and(eq(invitations.orgId, orgId), eq(invitations.id, invitationId), eq(invitations.kind, 'candidate')))
      .returning();
    return row ?? null;
  }

  async findByTokenHash(tokenHash: string): Promise<InvitationRecord | null> {
    const [row] = await this.database.primary
      .select()
      .from(invitations)
      .where(and(eq(invitations.tokenHash, tokenHash), eq(invitations.kind, 'candidate')));
    return row ?? null;
  }

  /**
   * Claims a usable invitation in one statement: of two concurrent redemptions of one token,
   * exactly one gets the row.
   */
  async redeem(tokenHash: string, now: Date): Promise<InvitationRecord | null> {
    const [row] = await this.database.primary
      .update(invitations)
      .set({ usedAt: now, updatedAt: now })
      .where(
        and(
          eq(invitations.tokenHash, tokenHash),
          eq(invitations.kind, 'candidate'),
          isNull(invitations.usedAt),
          isNull(invitations.revokedAt),
          gt(invitations.expiresAt, now),
        ),
      )
      .returning();
    return row ?? null;
  }

  /** Gives a claimed invitation back when the step after the claim failed. */
  async unredeem(orgId: string, invitationId: string, usedAt: Date): Promise<void> {
    await this.database.primary
      .update(invitations)
      .set({ usedAt: null })
      .where(and(eq(invitations.orgId, orgId), eq(invitations.id, invitationId), eq(invitations.usedAt, usedAt)));
  }
}

import { and, count, desc, eq, isNull, lt, ne, sql } from 'drizzle-orm';
import type { Database } from '../infra/db/database.ts';
import { auditLog, invitations, organizations, refreshTokens, users, type OrgSettings } from '../infra/db/schema.ts';
import type {
  AccountsRepository,
  AuditEntry,
  AuditRecord,
  RefreshTokenRecord,
  StaffInvitationRecord,
  UserRecord,
} from './accounts.repository.ts';

type UserRow = typeof users.$inferSelect;

function toUser(row: UserRow): UserRecord {
  return {
    id: row.id,
    orgId: row.orgId,
    email: row.email,
    name: row.name,
    role: row.role,
    passwordHash: row.passwordHash,
    tokenEpoch: row.tokenEpoch,
    disabledAt: row.disabledAt,
    createdAt: row.createdAt,
  };
}

function toInvitation(row: typeof invitations.$inferSelect): StaffInvitationRecord | null {
  if (row.kind !== 'recruiter' || (row.role !== 'admin' && row.role !== 'recruiter')) return null;
  return {
    id: row.id,
    orgId: row.orgId,
    email: row.email,
    name: row.name,
    role: row.role,
    expiresAt: row.expiresAt,
    usedAt: row.usedAt,
    revokedAt: row.revokedAt,
    sentAt: row.sentAt,
    deliveryFailedAt: row.deliveryFailedAt,
    deliveryFailure: row.deliveryFailure,
    createdAt: row.createdAt,
  };
}

const isStaffInvitation = (r: StaffInvitationRecord | null): r is StaffInvitationRecord => r !== null;

/**
 * Accounts on the relational database. Token lookups and "mark used" go to the primary: a refresh
 * must see the rotation that happened a moment ago, and the conditional UPDATE is what makes a
 * replayed token lose the race.
 */
export class DrizzleAccountsRepository implements AccountsRepository {
  constructor(private readonly database: Database) {}

  private get primary() {
    return this.database.primary;
  }

  async countOrganizations(): Promise<number> {
    const [row] = await this.primary.select({ n: count() }).from(organizations);
    return row?.n ?? 0;
  }

  async createOrganization(name: string): Promise<{ id: string; name: string }> {
    const [row] = await this.primary
      .insert(organizations)
      .values({ name })
      .returning({ id: organizations.id, name: organizations.name });
    if (!row) throw new Error('organization insert returned no row');
    return row;
  }

  async findOrganizationByName(name: string): Promise<{ id: string; name: string } | null> {
    const [row] = await this.primary
      .select({ id: organizations.id, name: organizations.name })
      .from(organizations)
      .where(eq(organizations.name, name))
      .limit(1);
    return row ?? null;
  }

  async findOrganization(orgId: string): Promise<{ id: string; name: string; settings: OrgSettings } | null> {
    const [row] = await this.primary
      .select({ id: organizations.id, name: organizations.name, settings: organizations.settings })
      .from(organizations)
      .where(eq(organizations.id, orgId))
      .limit(1);
    return row ?? null;
  }

  async updateOrganizationSettings(orgId: string, settings: OrgSettings): Promise<void> {
    await this.primary.update(organizations).set({ settings }).where(eq(organizations.id, orgId));
  }

  async createUser(user: Parameters<AccountsRepository['createUser']>[0]): Promise<UserRecord> {
    const [row] = await this.primary.insert(users).values(user).returning();
    if (!row) throw new Error('user insert returned no row');
    return toUser(row);
  }

  async findStaffByEmail(email: string): Promise<UserRecord | null> {
    const [row] = await this.primary
      .select()
      .from(users)
      .where(and(sql`lower(${users.email}) = lower(${email})`, ne(users.role, 'candidate')))
      .limit(1);
    return row ? toUser(row) : null;
  }

  async findUser(orgId: string, userId: string): Promise<UserRecord | null> {
    const [row] = await this.primary
      .select()
      .from(users)
      .where(and(eq(users.orgId, orgId), eq(users.id, userId)))
      .limit(1);
    return row ? toUser(row) : null;
  }

  async listUsers(orgId: string): Promise<UserRecord[]> {
    const rows = await this.database.db
      .select()
      .from(users)
      .where(and(eq(users.orgId, orgId), ne(users.role, 'candidate')))
      .orderBy(users.createdAt);
    return rows.map(toUser);
  }

  async countAdmins(orgId: string): Promise<number> {
    const [row] = await this.primary
      .select({ n: count() })
      .from(users)
      .where(and(eq(users.orgId, orgId), eq(users.role, 'admin'), isNull(users.disabledAt)));
    return row?.n ?? 0;
  }

  async updateRole(orgId: string, userId: string, role: 'admin' | 'recruiter'): Promise<void> {
    await this.primary
      .update(users)
      .set({ role, updatedAt: new Date() })
      .where(and(eq(users.orgId, orgId), eq(users.id, userId)));
  }

  async bumpTokenEpoch(orgId: string, userId: string): Promise<number> {
    const [row] = await this.primary
      .update(users)
      .set({ tokenEpoch: sql`${users.tokenEpoch} + 1`, updatedAt: new Date() })
      .where(and(eq(users.orgId, orgId), eq(users.id, userId)))
      .returning({ epoch: users.tokenEpoch });
    if (!row) throw new Error('user not found while bumping its token epoch');
    return row.epoch;
  }

  async insertRefreshToken(token: Parameters<AccountsRepository['insertRefreshToken']>[0]): Promise<void> {
    await this.primary.insert(refreshTokens).values(token);
  }

  async findRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | null> {
    const [row] = await this.primary
      .select({
        id: refreshTokens.id,
        orgId: refreshTokens.orgId,
        userId: refreshTokens.userId,
        familyId: refreshTokens.familyId,
        sessionId: refreshTokens.sessionId,
        expiresAt: refreshTokens.expiresAt,
        usedAt: refreshTokens.usedAt,
        revokedAt: refreshTokens.revokedAt,
      })
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, tokenHash))
      .limit(1);
    return row ?? null;
  }

  async markRefreshTokenUsed(id: string, at: Date): Promise<boolean> {
    const rows = await this.primary
      .update(refreshTokens)
      .set({ usedAt: at })
      .where(and(eq(refreshTokens.id, id), isNull(refreshTokens.usedAt), isNull(refreshTokens.revokedAt)))
      .returning({ id: refreshTokens.id });
    return rows.length === 1;
  }

  async revokeFamily(orgId: string, familyId: string, at: Date): Promise<number> {
    const rows = await this.primary
      .update(refreshTokens)
      .set({ revokedAt: at })
      .where(and(eq(refreshTokens.orgId, orgId), eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)))
      .returning({ id: refreshTokens.id });
    return rows.length;
  }

  async revokeAllForUser(orgId: string, userId: string, at: Date): Promise<number> {
    const rows = await this.primary
      .update(refreshTokens)
      .set({ revokedAt: at })
      .where(and(eq(refreshTokens.orgId, orgId), eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)))
      .returning({ id: refreshTokens.id });
    return rows.length;
  }

  async createStaffInvitation(
    inv: Parameters<AccountsRepository['createStaffInvitation']>[0],
  ): Promise<StaffInvitationRecord> {
    const [row] = await this.primary
      .insert(invitations)
      .values({ ...inv, kind: 'recruiter' })
      .returning();
    const record = row && toInvitation(row);
    if (!record) throw new Error('invitation insert returned no row');
    return record;
  }

  async findStaffInvitation(tokenHash: string): Promise<StaffInvitationRecord | null> {
    const [row] = await this.primary
      .select()
      .from(invitations)
      .where(and(eq(invitations.tokenHash, tokenHash), eq(invitations.kind, 'recruiter')))
      .limit(1);
    return row ? toInvitation(row) : null;
  }

  async findStaffInvitationById(orgId: string, id: string): Promise<StaffInvitationRecord | null> {
    const [row] = await this.primary
      .select()
      .from(invitations)
      .where(and(eq(invitations.orgId, orgId), eq(invitations.id, id), eq(invitations.kind, 'recruiter')));
    return row ? toInvitation(row) : null;
  }

  async listStaffInvitations(orgId: string, limit: number): Promise<StaffInvitationRecord[]> {
    // From the primary: an admin who just invited someone expects to see the row.
    const rows = await this.primary
      .select()
      .from(invitations)
      .where(and(eq(invitations.orgId, orgId), eq(invitations.kind, 'recruiter')))
      .orderBy(desc(invitations.createdAt))
      .limit(limit);
    return rows.map(toInvitation).filter(isStaffInvitation);
  }

  reissueStaffInvitation(
    orgId: string,
    id: string,
    set: { tokenHash: string; expiresAt: Date },
    at: Date,
  ): Promise<StaffInvitationRecord | null> {
    return this.updateOpenStaffInvitation(orgId, id, { ...set, sentAt: null, updatedAt: at });
  }

  revokeStaffInvitation(orgId: string, id: string, at: Date): Promise<StaffInvitationRecord | null> {
    return this.updateOpenStaffInvitation(orgId, id, { revokedAt: at, updatedAt: at });
  }

  /** Updates a staff invitation that is neither used nor revoked; null when there is none. */
  private async updateOpenStaffInvitation(
    orgId: string,
    id: string,
    set: Partial<typeof invitations.$inferInsert>,
  ): Promise<StaffInvitationRecord | null> {
    const [row] = await this.primary
      .update(invitations)
      .set(set)
      .where(
        and(
          eq(invitations.orgId, orgId),
          eq(invitations.id, id),
          eq(invitations.kind, 'recruiter'),
          isNull(invitations.usedAt),
          isNull(invitations.revokedAt),
        ),
      )
      .returning();
    return row ? toInvitation(row) : null;
  }

  async recordStaffInvitationFailure(
    orgId: string,
    id: string,
    reason: string,
    at: Date,
  ): Promise<StaffInvitationRecord | null> {
    const [row] = await this.primary
      .update(invitations)
      .set({ deliveryFailedAt: at, deliveryFailure: reason, updatedAt: at })
      .where(and(eq(invitations.orgId, orgId), eq(invitations.id, id), eq(invitations.kind, 'recruiter')))
      .returning();
    return row ? toInvitation(row) : null;
  }

  async markStaffInvitationUsed(id: string, at: Date): Promise<boolean> {
    const rows = await this.primary
      .update(invitations)
      .set({ usedAt: at, updatedAt: at })
      .where(and(eq(invitations.id, id), isNull(invitations.usedAt), isNull(invitations.revokedAt)))
      .returning({ id: invitations.id });
    return rows.length === 1;
  }

  async insertAudit(entry: AuditEntry): Promise<void> {
    await this.primary.insert(auditLog).values({
      orgId: entry.orgId,
      actorId: entry.actorId,
      action: entry.action,
      targetType: entry.targetType ?? null,
      targetId: entry.targetId ?? null,
      ip: entry.ip ?? null,
      metadata: entry.metadata ?? {},
    });
  }

  async listAudit(orgId: string, filter: { action?: string; limit: number; before?: Date }): Promise<AuditRecord[]> {
    const conditions = [eq(auditLog.orgId, orgId)];
    if (filter.action) conditions.push(eq(auditLog.action, filter.action));
    if (filter.before) conditions.push(lt(auditLog.createdAt, filter.before));
    const rows = await this.database.db
      .select()
      .from(auditLog)
      .where(and(...conditions))
      .orderBy(desc(auditLog.createdAt), desc(auditLog.id))
      .limit(filter.limit);
    return rows.map((r) => ({
      id: r.id,
      orgId: r.orgId,
      actorId: r.actorId,
      action: r.action,
      targetType: r.targetType,
      targetId: r.targetId,
      ip: r.ip,
      metadata: r.metadata,
      createdAt: r.createdAt,
    }));
  }
}

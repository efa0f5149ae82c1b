import type { OrgSettings } from '../infra/db/schema.ts';
import type { UserRole } from './token.service.ts';

export interface UserRecord {
  id: string;
  orgId: string;
  email: string;
  name: string;
  role: UserRole;
  passwordHash: string | null;
  tokenEpoch: number;
  disabledAt: Date | null;
  createdAt: Date;
}

export interface RefreshTokenRecord {
  id: string;
  orgId: string;
  userId: string;
  familyId: string;
  sessionId: string | null;
  expiresAt: Date;
  usedAt: Date | null;
  revokedAt: Date | null;
}

export interface StaffInvitationRecord {
  id: string;
  orgId: string;
  email: string;
  name: string;
  role: 'admin' | 'recruiter';
  expiresAt: Date;
  usedAt: Date | null;
  revokedAt: Date | null;
  /** When the e-mail with the current link was delivered (by the workers); null while queued. */
  sentAt: Date | null;
  /** When an e-mail of it last failed for good, and why; cleared when one is delivered. */
  deliveryFailedAt: Date | null;
  deliveryFailure: string | null;
  createdAt: Date;
}

export interface AuditEntry {
  orgId: string;
  actorId: string | null;
  action: string;
  targetType?: string;
  targetId?: string;
  ip?: string;
  metadata?: Record<string, unknown>;
}

export interface AuditRecord extends Required<Omit<AuditEntry, 'ip' | 'targetType' | 'targetId'>> {
  id: string;
  targetType: string | null;
  targetId: string | null;
  ip: string | null;
  createdAt: Date;
}

/**
 * Storage of accounts, refresh tokens, staff invitations and the audit log. Every method that
 * reads or changes a tenant's rows takes its organisation id. The few lookups that cannot (sign-in
 * by e-mail, tokens by hash) find the organisation from the row itself.
 */
export interface AccountsRepository {
  countOrganizations(): Promise<number>;
  createOrganization(name: string): Promise<{ id: string; name: string }>;
  findOrganizationByName(name: string): Promise<{ id: string; name: string } | null>;
  findOrganization(orgId: string): Promise<{ id: string; name: string; settings: OrgSettings } | null>;
  /** Replaces the whole settings document (keys this context does not know are kept by the caller). */
  updateOrganizationSettings(orgId: string, settings: OrgSettings): Promise<void>;

  createUser(user: {
    orgId: string;
    email: string;
    name: string;
    role: UserRole;
    passwordHash: string | null;
  }): Promise<UserRecord>;
  /** Admins and recruiters sign in by e-mail, which is unique among them. */
  findStaffByEmail(email: string): Promise<UserRecord | null>;
  findUser(orgId: string, userId: string): Promise<UserRecord | null>;
  listUsers(orgId: string): Promise<UserRecord[]>;
  countAdmins(orgId: string): Promise<number>;
  updateRole(orgId: string, userId: string, role: 'admin' | 'recruiter'): Promise<void>;
  bumpTokenEpoch(orgId: string, userId: string): Promise<number>;

  insertRefreshToken(token: {
    orgId: string;
    userId: string;
    familyId: string;
    parentId: string | null;
    sessionId: string | null;
    tokenHash: string;
    expiresAt: Date;
  }): Promise<void>;
  findRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | null>;
  /** Marks a token used; false when it already was (a concurrent or replayed refresh). */
  markRefreshTokenUsed(id: string, at: Date): Promise<boolean>;
  revokeFamily(orgId: string, familyId: string, at: Date): Promise<number>;
  revokeAllForUser(orgId: string, userId: string, at: Date): Promise<number>;

  createStaffInvitation(inv: {
    orgId: string;
    email: string;
    name: string;
    role: 'admin' | 'recruiter';
    tokenHash: string;
    expiresAt: Date;
    createdBy: string;
  }): Promise<StaffInvitationRecord>;
  findStaffInvitation(tokenHash: string): Promise<StaffInvitationRecord | null>;
  findStaffInvitationById(orgId: string, id: string): Promise<StaffInvitationRecord | null>;
  /** The organisation's staff invitations, newest first (at most `limit`). */
  listStaffInvitations(orgId: string, limit: number): Promise<StaffInvitationRecord[]>;
  /**
   * A new link and validity for an invitation that is neither used nor revoked, not sent yet
   * (`sentAt` null until the workers deliver it); null otherwise.
   */
  reissueStaffInvitation(
    orgId: string,
    id: string,
    set: { tokenHash: string; expiresAt: Date },
    at: Date,
  ): Promise<StaffInvitationRecord | null>;
  /** Withdraws an invitation that is neither used nor revoked; null otherwise. */
  revokeStaffInvitation(orgId: string, id: string, at: Date): Promise<StaffInvitationRecord | null>;
  /** Records that the invitation's e-mail failed for good (here: could not be queued), and why. */
  recordStaffInvitationFailure(
    orgId: string,
    id: string,
    reason: string,
    at: Date,
  ): Promise<StaffInvitationRecord | null>;
  /** Marks an invitation used; false when it already was. */
  markStaffInvitationUsed(id: string, at: Date): Promise<boolean>;

  insertAudit(entry: AuditEntry): Promise<void>;
  listAudit(orgId: string, filter: { action?: string; limit: number; before?: Date }): Promise<AuditRecord[]>;
}

import { type TStaffInvitation } from '@parley/contracts';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Broker } from '../infra/broker/broker.ts';
import type { Cache } from '../infra/cache/cache.ts';
import type { EmotionPolicy, OrgSettings } from '../infra/db/schema.ts';
import type { Logger } from '../infra/log.ts';
import type { Actor, StaffActor } from '../shared/actor.ts';
import { requireAdmin, requireAuthenticated } from '../shared/actor.ts';
import { AppError } from '../shared/app-error.ts';
import { EMAIL_NOT_QUEUED, requestEmail, unheldTokenHash } from '../shared/email-requests.ts';
import type {
  AccountsRepository,
  AuditEntry,
  AuditRecord,
  StaffInvitationRecord,
  UserRecord,
} from './accounts.repository.ts';
import type { PasswordHasher } from './password.ts';
import type { AccessClaims, TokenService } from './token.service.ts';

export interface TokenPair {
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
  refreshTokenExpiresAt: string;
}

export interface PublicUser {
  id: string;
  orgId: string;
  email: string;
  name: string;
  role: UserRecord['role'];
  createdAt: string;
}

/** An organisation's policies as admins see and change them. */
export interface OrganizationPolicies {
  emotionPolicy: EmotionPolicy;
  retentionDays: number;
  /** Null: recordings live as long as the session. */
  recordingRetentionDays: number | null;
  /** Null: the retention job's default (30 days, never longer than recordings). */
  frameRetentionDays: number | null;
}

const POLICY_KEYS = ['emotionPolicy', 'retentionDays', 'recordingRetentionDays', 'frameRetentionDays'] as const;
const EMOTION_POLICIES: readonly EmotionPolicy[] = ['off', 'insights', 'scored'];
const positiveInt = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : null);

/** The stored settings read with the same defaults the workers and the emotion context apply. */
function policiesOf(settings: OrgSettings): OrganizationPolicies {
  const policy = settings.emotionPolicy;
  return {
    emotionPolicy: policy && EMOTION_POLICIES.includes(policy) ? policy : 'insights',
    retentionDays: positiveInt(settings.retentionDays) ?? 365,
    recordingRetentionDays: positiveInt(settings.recordingRetentionDays),
    frameRetentionDays: positiveInt(settings.frameRetentionDays),
  };
}

export interface AccountsSettings {
  refreshTtlSeconds: number;
  staffInvitationTtlSeconds: number;
  minPasswordLength: number;
}

const USER_CACHE_TTL = 30 * 60;
/** Staff invitations an admin is shown, newest first. */
const STAFF_INVITATIONS_LISTED = 200;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const newSecret = () => randomBytes(32).toString('base64url');
const normaliseEmail = (email: string) => email.trim().toLowerCase();

export function toPublicUser(u: UserRecord): PublicUser {
  return { id: u.id, orgId: u.orgId, email: u.email, name: u.name, role: u.role, createdAt: u.createdAt.toISOString() };
}

function toStaffInvitation(i: StaffInvitationRecord, now: Date): TStaffInvitation {
  return {
    id: i.id,
    email: i.email,
    name: i.name,
    role: i.role,
    status: i.revokedAt ? 'revoked' : i.usedAt ? 'accepted' : i.expiresAt <= now ? 'expired' : 'pending',
    expiresAt: i.expiresAt.toISOString(),
    sentAt: i.sentAt?.toISOString() ?? null,
    deliveryFailedAt: i.deliveryFailedAt?.toISOString() ?? null,
    deliveryFailure: i.deliveryFailure,
    createdAt: i.createdAt.toISOString(),
  };
}

/**
 * Organisations, staff accounts, sign-in, token rotation and the audit log.
 *
 * Refresh tokens are opaque random strings stored only as SHA-256 hashes. Each refresh consumes
 * the token and issues its child in the same family; presenting a consumed token again means it
 * was stolen or replayed, so the whole family is revoked and the event audited.
 */
export class AccountsService {
  constructor(
    private readonly repo: AccountsRepository,
    private readonly tokens: TokenService,
    private readonly hasher: PasswordHasher,
    private readonly cache: Cache,
    /** Where staff invitation e-mails are requested from the workers (`notification.email`). */
    private readonly broker: Pick<Broker, 'publish'>,
    private readonly logger: Logger,
    private readonly settings: AccountsSettings,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The first admin of a new organisation (CLI `parley admin create`). */
  async createAdmin(input: { orgName: string; email: string; name: string; password: string }): Promise<PublicUser> {
    this.checkPassword(input.password);
    const email = normaliseEmail(input.email);
    if (await this.repo.findStaffByEmail(email))
      throw new AppError('ALREADY_EXISTS', 'An account with this e-mail exists');
    const org =
      (await this.repo.findOrganizationByName(input.orgName)) ?? (await this.repo.createOrganization(input.orgName));
    const user = await this.repo.createUser({
      orgId: org.id,
      email,
      name: input.name,
      role: 'admin',
      passwordHash: await this.hasher.hash(input.password),
    });
    await this.audit({
      orgId: org.id,
      actorId: user.id,
      action: 'user.created',
      targetType: 'user',
      targetId: user.id,
      metadata: { role: 'admin', via: 'cli' },
    });
    return toPublicUser(user);
  }

  /** One-time sign-up: allowed only while no organisation exists. */
  async signUp(input: {
    orgName: string;
    email: string;
    name: string;
    password: string;
    ip?: string;
  }): Promise<TokenPair> {
    if ((await this.repo.countOrganizations()) > 0) {
      throw new AppError('CONFLICT', 'Sign-up is closed; ask an admin for an invitation');
    }
    const user = await this.createAdmin(input);
    return this.issue(await this.mustFindUser(user.orgId, user.id), null);
  }

  async signIn(input: { email: string; password: string; ip?: string }): Promise<TokenPair> {
    const user = await this.repo.findStaffByEmail(normaliseEmail(input.email));
    if (!user || !user.passwordHash || user.disabledAt) {
      // Same work and the same answer whether or not the account exists.
      await this.hasher.verifyDummy(input.password);
      if (user)
        await this.audit({
          orgId: user.orgId,
          actorId: user.id,
          action: 'auth.sign_in_failed',
          ip: input.ip,
          metadata: { reason: 'disabled' },
        });
      throw new AppError('INVALID_CREDENTIALS', 'E-mail or password is wrong');
    }
    if (!(await this.hasher.verify(input.password, user.passwordHash))) {
      await this.audit({
        orgId: user.orgId,
        actorId: user.id,
        action: 'auth.sign_in_failed',
        ip: input.ip,
        metadata: { reason: 'password' },
      });
      throw new AppError('INVALID_CREDENTIALS', 'E-mail or password is wrong');
    }
    await this.audit({ orgId: user.orgId, actorId: user.id, action: 'auth.sign_in', ip: input.ip });
    return this.issue(user, null);
  }

  async refresh(input: { refreshToken: string; ip?: string }): Promise<TokenPair> {
    const record = await this.repo.findRefreshToken(sha256(input.refreshToken));
    const now = this.now();
    if (!record || record.revokedAt) throw new AppError('TOKEN_INVALID', 'Refresh token is not valid');
    if (record.usedAt || !(await this.repo.markRefreshTokenUsed(record.id, now))) {
      const revoked = await this.repo.revokeFamily(record.orgId, record.familyId, now);
      await this.audit({
        orgId: record.orgId,
        actorId: record.userId,
        action: 'auth.token_reuse',
        targetType: 'token_family',
        targetId: record.familyId,
        ip: input.ip,
        metadata: { revoked },
      });
      throw new AppError(
        'TOKEN_REUSED',
        'This refresh token was already used; every session of its family is signed out',
      );
    }
    if (record.expiresAt <= now) throw new AppError('TOKEN_EXPIRED', 'Refresh token has expired');
    const user = await this.repo.findUser(record.orgId, record.userId);
    if (!user || user.disabledAt) throw new AppError('TOKEN_INVALID', 'Refresh token is not valid');
    return this.issue(user, record.sessionId, { familyId: record.familyId, parentId: record.id });
  }

  /** Signs out one device: revokes the refresh token's family. */
  async signOut(input: { refreshToken: string }): Promise<void> {
    const record = await this.repo.findRefreshToken(sha256(input.refreshToken));
    if (record) await this.repo.revokeFamily(record.orgId, record.familyId, this.now());
  }

  /** Revokes every refresh token of the user and invalidates access tokens already issued. */
  async signOutEverywhere(actor: Actor): Promise<void> {
    requireAuthenticated(actor);
    await this.repo.revokeAllForUser(actor.orgId, actor.userId, this.now());
    await this.repo.bumpTokenEpoch(actor.orgId, actor.userId);
    await this.cache.del(`user:${actor.userId}`);
    await this.audit({ orgId: actor.orgId, actorId: actor.userId, action: 'auth.sign_out_everywhere', ip: actor.ip });
  }

  /** Turns a bearer token into an actor; a token of a signed-out-everywhere or disabled user is refused. */
  async authenticate(accessToken: string, ip?: string): Promise<Actor> {
    const claims = await this.tokens.verifyAccess(accessToken);
    const state = await this.userState(claims);
    if (!state || state.disabled || state.epoch !== claims.epoch) {
      throw new AppError('TOKEN_INVALID', 'Access token has been revoked');
    }
    if (claims.role === 'candidate') {
      return { kind: 'candidate', userId: claims.userId, orgId: claims.orgId, sessionId: claims.sessionId ?? '', ip };
    }
    return { kind: 'staff', userId: claims.userId, orgId: claims.orgId, role: claims.role, ip };
  }

  /**
   * A short-lived token that lets this staff member's browser fetch one resource by URL, for
   * elements that cannot send an Authorization header (`<video src>`). It carries the user's
   * current token epoch, so signing out everywhere or a role change revokes it as well.
   */
  async issueMediaToken(
    actor: StaffActor,
    resource: string,
    ttlSeconds: number,
  ): Promise<{ token: string; expiresAt: Date }> {
    const claims: AccessClaims = { userId: actor.userId, orgId: actor.orgId, role: actor.role, epoch: 0 };
    const state = await this.userState(claims);
    if (!state || state.disabled) throw new AppError('TOKEN_INVALID', 'The account is not active');
    return this.tokens.signMedia({ ...claims, epoch: state.epoch }, resource, ttlSeconds);
  }

  /** The staff member a media token for `resource` was issued to, checked like an access token. */
  async authenticateMedia(token: string, resource: string, ip?: string): Promise<StaffActor> {
    const claims = await this.tokens.verifyMedia(token, resource);
    const state = await this.userState(claims);
    if (!state || state.disabled || state.epoch !== claims.epoch || claims.role === 'candidate') {
      throw new AppError('TOKEN_INVALID', 'Media token has been revoked');
    }
    return { kind: 'staff', userId: claims.userId, orgId: claims.orgId, role: claims.role, ip };
  }

  async me(actor: Actor): Promise<PublicUser> {
    requireAuthenticated(actor);
    return toPublicUser(await this.mustFindUser(actor.orgId, actor.userId));
  }

  /**
   * Admins invite recruiters (or admins) by e-mail with a single-use link. The e-mail is never sent
   * here: the workers' `notification.email` job mints the link, stores only its hash, delivers it
   * with retries and records `sentAt`. When the broker does not take the request, the invitation
   * is kept with the failure recorded, and the admin can resend it.
   */
  async inviteStaff(
    actor: Actor,
    input: { email: string; name: string; role: 'admin' | 'recruiter' },
  ): Promise<TStaffInvitation> {
    requireAdmin(actor);
    const email = normaliseEmail(input.email);
    if (await this.repo.findStaffByEmail(email))
      throw new AppError('ALREADY_EXISTS', 'An account with this e-mail exists');
    const expiresAt = new Date(this.now().getTime() + this.settings.staffInvitationTtlSeconds * 1000);
    let inv = await this.repo.createStaffInvitation({
      orgId: actor.orgId,
      email,
      name: input.name,
      role: input.role,
      tokenHash: unheldTokenHash(),
      expiresAt,
      createdBy: actor.userId,
    });
    await this.audit({
      orgId: actor.orgId,
      actorId: actor.userId,
      action: 'user.invited',
      targetType: 'invitation',
      targetId: inv.id,
      ip: actor.ip,
      metadata: { role: input.role },
    });
    try {
      await this.requestInvitationEmail(inv);
    } catch (err) {
      this.logger.warn({ err, invitationId: inv.id }, 'staff invitation e-mail could not be queued');
      inv = (await this.repo.recordStaffInvitationFailure(actor.orgId, inv.id, EMAIL_NOT_QUEUED, this.now())) ?? inv;
    }
    return toStaffInvitation(inv, this.now());
  }

  /** The organisation's staff invitations, newest first, with the state of their e-mail. */
  async listStaffInvitations(actor: Actor): Promise<TStaffInvitation[]> {
    requireAdmin(actor);
    const now = this.now();
    return (await this.repo.listStaffInvitations(actor.orgId, STAFF_INVITATIONS_LISTED)).map((i) =>
      toStaffInvitation(i, now),
    );
  }

  /**
   * A new link with a fresh validity period, queued for e-mail (`sentAt` is null until delivered).
   * The previous link stops working at once. A recorded delivery failure stays until a resent
   * e-mail is delivered.
   */
  async resendStaffInvitation(actor: Actor, invitationId: string): Promise<TStaffInvitation> {
    requireAdmin(actor);
    const existing = await this.repo.findStaffInvitationById(actor.orgId, invitationId);
    if (!existing) throw new AppError('NOT_FOUND', 'Invitation not found');
    if (existing.usedAt) throw new AppError('INVITATION_USED', 'This invitation was already used');
    if (existing.revokedAt) throw new AppError('CONFLICT', 'This invitation was revoked');
    const now = this.now();
    const expiresAt = new Date(now.getTime() + this.settings.staffInvitationTtlSeconds * 1000);
    const inv = await this.repo.reissueStaffInvitation(
      actor.orgId,
      invitationId,
      { tokenHash: unheldTokenHash(), expiresAt },
      now,
    );
    if (!inv) throw new AppError('CONFLICT', 'This invitation can no longer be resent');
    await this.audit({
      orgId: actor.orgId,
      actorId: actor.userId,
      action: 'user.invitation_resent',
      targetType: 'invitation',
      targetId: inv.id,
      ip: actor.ip,
      metadata: { role: inv.role },
    });
    try {
      await this.requestInvitationEmail(inv);
    } catch (err) {
      // The caller hears it (503); the list says so too, rather than "queued".
      await this.repo.recordStaffInvitationFailure(actor.orgId, inv.id, EMAIL_NOT_QUEUED, this.now()).catch(() => {});
      throw err;
    }
    return toStaffInvitation(inv, now);
  }

  /**
   * Withdraws a staff invitation: its link stops working at once, and an e-mail still queued for it
   * is not sent (the job skips a revoked invitation).
   */
  async revokeStaffInvitation(actor: Actor, invitationId: string): Promise<TStaffInvitation> {
    requireAdmin(actor);
    const existing = await this.repo.findStaffInvitationById(actor.orgId, invitationId);
    if (!existing) throw new AppError('NOT_FOUND', 'Invitation not found');
    if (existing.usedAt) throw new AppError('INVITATION_USED', 'This invitation was already used');
    if (existing.revokedAt) throw new AppError('CONFLICT', 'This invitation was already withdrawn');
    const now = this.now();
    const inv = await this.repo.revokeStaffInvitation(actor.orgId, invitationId, now);
    if (!inv) throw new AppError('CONFLICT', 'This invitation can no longer be withdrawn');
    await this.audit({
      orgId: actor.orgId,
      actorId: actor.userId,
      action: 'user.invitation_revoked',
      targetType: 'invitation',
      targetId: inv.id,
      ip: actor.ip,
      metadata: { role: inv.role },
    });
    return toStaffInvitation(inv, now);
  }

  /** A request id per call makes each resend an e-mail of its own; a redelivery of one stays one. */
  private requestInvitationEmail(inv: StaffInvitationRecord): Promise<void> {
    return requestEmail(this.broker, {
      kind: 'staff-invitation',
      orgId: inv.orgId,
      invitationId: inv.id,
      requestId: randomUUID(),
    });
  }

  async acceptStaffInvitation(input: {
    token: string;
    password: string;
    name?: string;
    ip?: string;
  }): Promise<TokenPair> {
    this.checkPassword(input.password);
    const inv = await this.repo.findStaffInvitation(sha256(input.token));
    if (!inv || inv.revokedAt) throw new AppError('NOT_FOUND', 'Invitation not found');
    if (inv.usedAt) throw new AppError('INVITATION_USED', 'This invitation was already used');
    if (inv.expiresAt <= this.now()) throw new AppError('INVITATION_EXPIRED', 'This invitation has expired');
    if (!(await this.repo.markStaffInvitationUsed(inv.id, this.now()))) {
      throw new AppError('INVITATION_USED', 'This invitation was already used');
    }
    const user = await this.repo.createUser({
      orgId: inv.orgId,
      email: inv.email,
      name: input.name ?? inv.name,
      role: inv.role,
      passwordHash: await this.hasher.hash(input.password),
    });
    await this.audit({
      orgId: inv.orgId,
      actorId: user.id,
      action: 'user.created',
      targetType: 'user',
      targetId: user.id,
      ip: input.ip,
      metadata: { role: inv.role, via: 'invitation' },
    });
    return this.issue(user, null);
  }

  async listUsers(actor: Actor): Promise<PublicUser[]> {
    requireAdmin(actor);
    return (await this.repo.listUsers(actor.orgId)).map(toPublicUser);
  }

  async changeRole(actor: Actor, userId: string, role: 'admin' | 'recruiter'): Promise<PublicUser> {
    requireAdmin(actor);
    const user = await this.repo.findUser(actor.orgId, userId);
    if (!user || user.role === 'candidate') throw new AppError('NOT_FOUND', 'User not found');
    if (user.role === role) return toPublicUser(user);
    if (user.role === 'admin' && (await this.repo.countAdmins(actor.orgId)) <= 1) {
      throw new AppError('CONFLICT', 'An organisation keeps at least one admin');
    }
    await this.repo.updateRole(actor.orgId, userId, role);
    // A role change takes effect at once: tokens carrying the old role stop working.
    await this.repo.bumpTokenEpoch(actor.orgId, userId);
    await this.repo.revokeAllForUser(actor.orgId, userId, this.now());
    await this.cache.del(`user:${userId}`);
    await this.audit({
      orgId: actor.orgId,
      actorId: actor.userId,
      action: 'user.role_changed',
      targetType: 'user',
      targetId: userId,
      ip: actor.ip,
      metadata: { from: user.role, to: role },
    });
    return toPublicUser(await this.mustFindUser(actor.orgId, userId));
  }

  async listAudit(actor: Actor, filter: { action?: string; limit?: number; before?: Date }): Promise<AuditRecord[]> {
    requireAdmin(actor);
    return this.repo.listAudit(actor.orgId, { ...filter, limit: Math.min(filter.limit ?? 100, 500) });
  }

  async organization(actor: Actor): Promise<{ id: string; name: string } & OrganizationPolicies> {
    requireAdmin(actor);
    const org = await this.mustFindOrganization(actor.orgId);
    return { id: org.id, name: org.name, ...policiesOf(org.settings) };
  }

  /**
   * Changes the policies sent. A shorter retention tier may not outlive a longer one: the retention
   * job would silently clamp it, so an admin asking for it is told instead.
   */
  async updateOrganization(
    actor: Actor,
    patch: Partial<OrganizationPolicies>,
  ): Promise<{ id: string; name: string } & OrganizationPolicies> {
    requireAdmin(actor);
    const org = await this.mustFindOrganization(actor.orgId);
    const before = policiesOf(org.settings);
    const after: OrganizationPolicies = { ...before };
    for (const key of POLICY_KEYS) {
      if (patch[key] !== undefined) Object.assign(after, { [key]: patch[key] });
    }
    if (after.recordingRetentionDays !== null && after.recordingRetentionDays > after.retentionDays) {
      throw new AppError('VALIDATION_FAILED', 'Recordings cannot be kept longer than their sessions');
    }
    const framesCap = after.recordingRetentionDays ?? after.retentionDays;
    if (after.frameRetentionDays !== null && after.frameRetentionDays > framesCap) {
      throw new AppError('VALIDATION_FAILED', 'Video frames cannot be kept longer than recordings and sessions');
    }
    const changed = POLICY_KEYS.filter((k) => before[k] !== after[k]);
    if (changed.length > 0) {
      // Keys other contexts keep in the same document survive; a cleared tier is removed.
      const settings: OrgSettings = { ...org.settings };
      for (const key of changed) {
        if (after[key] === null) delete settings[key];
        else Object.assign(settings, { [key]: after[key] });
      }
      await this.repo.updateOrganizationSettings(actor.orgId, settings);
      await this.audit({
        orgId: actor.orgId,
        actorId: actor.userId,
        action: 'organization.settings_changed',
        targetType: 'organization',
        targetId: actor.orgId,
        ip: actor.ip,
        metadata: {
          from: Object.fromEntries(changed.map((k) => [k, before[k]])),
          to: Object.fromEntries(changed.map((k) => [k, after[k]])),
        },
      });
    }
    return { id: org.id, name: org.name, ...after };
  }

  /** Other contexts write audit rows through here (data export, deletion, key changes). */
  async audit(entry: AuditEntry): Promise<void> {
    await this.repo.insertAudit(entry);
  }

  /**
   * Tokens for a candidate, scoped to one session. Called by the interview context after it has
   * redeemed a single-use invitation.
   */
  async issueCandidateTokens(input: { orgId: string; userId: string; sessionId: string }): Promise<TokenPair> {
    return this.issue(await this.mustFindUser(input.orgId, input.userId), input.sessionId);
  }

  /** A candidate account for one invitation; candidates never get a password. */
  async createCandidate(input: { orgId: string; email: string; name: string }): Promise<PublicUser> {
    return toPublicUser(
      await this.repo.createUser({
        ...input,
        email: normaliseEmail(input.email),
        role: 'candidate',
        passwordHash: null,
      }),
    );
  }

  private async issue(
    user: UserRecord,
    sessionId: string | null,
    family?: { familyId: string; parentId: string },
  ): Promise<TokenPair> {
    const claims: AccessClaims = {
      userId: user.id,
      orgId: user.orgId,
      role: user.role,
      epoch: user.tokenEpoch,
      ...(sessionId ? { sessionId } : {}),
    };
    const access = await this.tokens.signAccess(claims);
    const refreshToken = newSecret();
    const expiresAt = new Date(this.now().getTime() + this.settings.refreshTtlSeconds * 1000);
    await this.repo.insertRefreshToken({
      orgId: user.orgId,
      userId: user.id,
      familyId: family?.familyId ?? randomUUID(),
      parentId: family?.parentId ?? null,
      sessionId,
      tokenHash: sha256(refreshToken),
      expiresAt,
    });
    return {
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt.toISOString(),
      refreshToken,
      refreshTokenExpiresAt: expiresAt.toISOString(),
    };
  }

  /** `user:{id}` in the cache for 30 minutes: the epoch and the disabled flag, checked per request. */
  private async userState(claims: AccessClaims): Promise<{ epoch: number; disabled: boolean } | null> {
    const key = `user:${claims.userId}`;
    const cached = await this.cache.get(key);
    if (cached) return JSON.parse(cached) as { epoch: number; disabled: boolean };
    const user = await this.repo.findUser(claims.orgId, claims.userId);
    if (!user) return null;
    const state = { epoch: user.tokenEpoch, disabled: user.disabledAt !== null };
    await this.cache.set(key, JSON.stringify(state), USER_CACHE_TTL);
    return state;
  }

  private async mustFindOrganization(orgId: string) {
    const org = await this.repo.findOrganization(orgId);
    if (!org) throw new AppError('NOT_FOUND', 'Organisation not found');
    return org;
  }

  private async mustFindUser(orgId: string, userId: string): Promise<UserRecord> {
    const user = await this.repo.findUser(orgId, userId);
    if (!user) throw new AppError('NOT_FOUND', 'User not found');
    return user;
  }

  private checkPassword(password: string): void {
    if (password.length < this.settings.minPasswordLength) {
      throw new AppError('VALIDATION_FAILED', `Passwords need at least ${this.settings.minPasswordLength} characters`);
    }
  }
}

export type { StaffActor };

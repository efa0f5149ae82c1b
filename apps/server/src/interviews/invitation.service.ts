import { type TCandidateInvitation, type TInviteCandidatesBody, type TTokenPair } from '@parley/contracts';
import { createHash, randomUUID } from 'node:crypto';
import type { Broker } from '../infra/broker/broker.ts';
import type { Database } from '../infra/db/database.ts';
import type { Logger } from '../infra/log.ts';
import { requireStaff, type Actor } from '../shared/actor.ts';
import { AppError } from '../shared/app-error.ts';
import { EMAIL_NOT_QUEUED, requestEmail, unheldTokenHash } from '../shared/email-requests.ts';
import type { Clock } from './clock.ts';
import type { InterviewRepository } from './interview.repository.ts';
import { effectivePolicy, toSettings } from './interview.service.ts';
import type { InvitationRecord, InvitationRepository } from './invitation.repository.ts';
import type { SessionAnnouncer } from './session-cache.ts';
import type { SessionRecord, SessionRepository } from './session.repository.ts';
import { illegalTransition } from './session-state.ts';

/**
 * What this context needs from the accounts context: a candidate account per invitation, and
 * tokens scoped to one session once the invitation is redeemed. `AccountsService` satisfies it.
 */
export interface CandidateAccounts {
  createCandidate(input: { orgId: string; email: string; name: string }): Promise<{ id: string }>;
  issueCandidateTokens(input: { orgId: string; userId: string; sessionId: string }): Promise<TTokenPair>;
}

export interface InvitationSettings {
  /** Validity of a link unless the request says otherwise; always capped by the interview's deadline. */
  invitationTtlSeconds: number;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * Candidate invitations. Each creates a candidate account and a session in `invited`, and asks the
 * workers' `notification.email` job for the e-mail (never sent on the request path): the job mints
 * the single-use link, stores only its hash, delivers with retries and records `sentAt` /
 * `remindedAt`. Each e-mail carries a new token, so the previous link stops working.
 */
export class InvitationService {
  constructor(
    private readonly database: Database,
    private readonly invitations: InvitationRepository,
    private readonly interviews: InterviewRepository,
    private readonly sessions: SessionRepository,
    private readonly updates: SessionAnnouncer,
    private readonly accounts: CandidateAccounts,
    private readonly broker: Broker,
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly settings: InvitationSettings,
  ) {}

  async invite(actor: Actor, interviewId: string, input: TInviteCandidatesBody): Promise<TCandidateInvitation[]> {
    requireStaff(actor);
    const found = await this.interviews.find(actor.orgId, interviewId);
    if (!found) throw new AppError('NOT_FOUND', 'Interview not found');
    const { interview } = found;
    if (interview.status !== 'published') {
      throw new AppError('CONFLICT', `Only a published interview takes invitations (this one is ${interview.status})`);
    }
    const now = this.clock();
    const settings = toSettings(interview.settings);
    const deadline = settings.deadline ? new Date(settings.deadline) : null;
    if (deadline && deadline <= now) throw new AppError('DEADLINE_PASSED', 'The interview deadline has passed');
    const emails = input.candidates.map((c) => c.email.trim().toLowerCase());
    const pending = await this.invitations.pendingEmails(actor.orgId, interviewId, emails, now);
    if (pending.length > 0) {
      throw new AppError('ALREADY_EXISTS', 'Some candidates already hold a valid invitation; resend it instead', {
        emails: pending,
      });
    }
    const orgSettings = await this.sessions.organizationSettings(actor.orgId);
    const sessionSettings = {
      ...settings,
      deadline: settings.deadline ?? undefined,
      emotionPolicy: effectivePolicy(orgSettings.emotionPolicy, settings.emotionPolicy),
    };
    const ttlMs =
      input.expiresInHours !== undefined ? input.expiresInHours * 3_600_000 : this.settings.invitationTtlSeconds * 1000;
    const expiresAt = capAt(new Date(now.getTime() + ttlMs), deadline);

    const created: TCandidateInvitation[] = [];
    for (const [i, candidate] of input.candidates.entries()) {
      const email = emails[i]!;
      const user = await this.accounts.createCandidate({ orgId: actor.orgId, email, name: candidate.name });
      const invitation = await this.database.primary.transaction(async (tx) => {
        const session = await this.sessions.insert(tx, actor.orgId, {
          interviewId,
          candidateId: user.id,
          settings: sessionSettings,
          expiresAt: deadline,
          at: now,
        });
        return this.invitations.insert(tx, actor.orgId, {
          interviewId,
          sessionId: session.id,
          name: candidate.name,
          email,
          tokenHash: unheldTokenHash(),
          expiresAt,
          createdBy: actor.userId,
          at: now,
        });
      });
      // After the commit, so the job finds the row. A broker that cannot take the request leaves
      // this invitation unsent, with the failure recorded, rather than failing the rest: the
      // recruiter sees it and can resend.
      let queued: InvitationRecord = invitation;
      try {
        await this.requestEmail(invitation, 'invitation');
      } catch (err) {
        this.logger.warn({ err, invitationId: invitation.id }, 'invitation e-mail could not be queued');
        queued = (await this.notQueued(invitation)) ?? invitation;
      }
      created.push(toInvitation(queued, now));
    }
    return created;
  }

  async list(actor: Actor, interviewId: string): Promise<TCandidateInvitation[]> {
    requireStaff(actor);
    if (!(await this.interviews.find(actor.orgId, interviewId))) throw new AppError('NOT_FOUND', 'Interview not found');
    const now = this.clock();
    return (await this.invitations.list(actor.orgId, interviewId)).map((i) => toInvitation(i, now));
  }

  /**
   * A new link with a fresh validity period, queued for e-mail (`sentAt` is null until it is
   * delivered). The previous link stops working at once: it must not gain the new validity.
   */
  async resend(actor: Actor, invitationId: string): Promise<TCandidateInvitation> {
    return this.reissue(actor, invitationId, 'invitation');
  }

  /**
   * A reminder with a new link, queued for e-mail; the validity period is unchanged and must not
   * have run out. The previous link works until the reminder is sent (`remindedAt`).
   */
  async remind(actor: Actor, invitationId: string): Promise<TCandidateInvitation> {
    return this.reissue(actor, invitationId, 'reminder');
  }

  /** The link stops working and the session, which never started, expires. */
  async revoke(actor: Actor, invitationId: string): Promise<TCandidateInvitation> {
    requireStaff(actor);
    const now = this.clock();
    let expired: SessionRecord | null = null;
    const revoked = await this.database.primary.transaction(async (tx) => {
      const row = await this.invitations.updatePending(actor.orgId, invitationId, { revokedAt: now }, now, tx);
      if (!row) return null;
      if (row.sessionId) {
        expired = await this.sessions.transition(
          tx,
          actor.orgId,
          row.sessionId,
          { from: ['invited'], to: 'expired' },
          {},
          now,
        );
      }
      return row;
    });
    if (!revoked) throw await this.notPending(actor.orgId, invitationId);
    if (expired) await this.updates.announce(expired);
    return toInvitation(revoked, now);
  }

  /**
   * Redeems a link: single use, before its expiry, for a session still waiting for its
   * candidate. Answers with a token pair scoped to that session.
   */
  async accept(input: { token: string }): Promise<{ sessionId: string; tokens: TTokenPair }> {
    const now = this.clock();
    const hash = sha256(input.token);
    const claimed = await this.invitations.redeem(hash, now);
    if (!claimed) throw await this.whyUnusable(hash, now);
    try {
      if (!claimed.sessionId) throw new AppError('INVITATION_EXPIRED', 'This invitation is no longer valid');
      const session = await this.sessions.find(claimed.orgId, claimed.sessionId);
      if (!session) throw new AppError('INVITATION_EXPIRED', 'This invitation is no longer valid');
      if (session.expiresAt && session.expiresAt <= now) {
        const expired = await this.sessions.transition(
          this.database.primary,
          claimed.orgId,
          session.id,
          { from: ['invited'], to: 'expired' },
          {},
          now,
        );
        if (expired) await this.updates.announce(expired);
        throw new AppError('INVITATION_EXPIRED', 'The interview deadline has passed');
      }
      if (session.status !== 'invited') throw illegalTransition(session.status, 'consented');
      const tokens = await this.accounts.issueCandidateTokens({
        orgId: claimed.orgId,
        userId: session.candidateId,
        sessionId: session.id,
      });
      return { sessionId: session.id, tokens };
    } catch (err) {
      // Nothing was handed out: leave the link usable (or unusable for the reason just given).
      await this.invitations.unredeem(claimed.orgId, claimed.id, now);
      throw err;
    }
  }

  private async reissue(
    actor: Actor,
    invitationId: string,
    kind: 'invitation' | 'reminder',
  ): Promise<TCandidateInvitation> {
    requireStaff(actor);
    const existing = await this.invitations.find(actor.orgId, invitationId);
    if (!existing) throw new AppError('NOT_FOUND', 'Invitation not found');
    const now = this.clock();
    const found = existing.interviewId ? await this.interviews.find(actor.orgId, existing.interviewId) : null;
    if (!found || found.interview.status !== 'published') {
      throw new AppError('CONFLICT', 'The interview no longer takes invitations');
    }
    const settings = toSettings(found.interview.settings);
    const deadline = settings.deadline ? new Date(settings.deadline) : null;
    if (deadline && deadline <= now) throw new AppError('DEADLINE_PASSED', 'The interview deadline has passed');
    let updated: InvitationRecord | null;
    if (kind === 'invitation') {
      const expiresAt = capAt(new Date(now.getTime() + this.settings.invitationTtlSeconds * 1000), deadline);
      updated = await this.invitations.updatePending(
        actor.orgId,
        invitationId,
        { tokenHash: unheldTokenHash(), expiresAt, sentAt: null },
        now,
      );
    } else {
      if (existing.expiresAt <= now) {
        throw new AppError('INVITATION_EXPIRED', 'The invitation has expired; resend it instead');
      }
      updated = existing.usedAt || existing.revokedAt ? null : existing;
    }
    if (!updated) throw await this.notPending(actor.orgId, invitationId);
    try {
      await this.requestEmail(updated, kind);
    } catch (err) {
      // The caller hears it (503); the list says so too, rather than "queued".
      await this.notQueued(updated);
      throw err;
    }
    return toInvitation(updated, now);
  }

  /** Records on the invitation that its e-mail could not be queued; best effort (the broker is already failing). */
  private async notQueued(invitation: InvitationRecord): Promise<InvitationRecord | null> {
    return this.invitations
      .recordDeliveryFailure(invitation.orgId, invitation.id, EMAIL_NOT_QUEUED, this.clock())
      .catch((err: unknown) => {
        this.logger.warn({ err, invitationId: invitation.id }, 'e-mail failure not recorded');
        return null;
      });
  }

  /**
   * Queues the e-mail for the workers (ids only: the job mints the link). A request id per call
   * makes each resend or reminder an e-mail of its own, while a redelivery of one stays one.
   */
  private requestEmail(invitation: InvitationRecord, kind: 'invitation' | 'reminder'): Promise<void> {
    return requestEmail(this.broker, {
      kind,
      orgId: invitation.orgId,
      invitationId: invitation.id,
      requestId: randomUUID(),
    });
  }

  private async notPending(orgId: string, invitationId: string): Promise<AppError> {
    const row = await this.invitations.find(orgId, invitationId);
    if (!row) return new AppError('NOT_FOUND', 'Invitation not found');
    if (row.usedAt) return new AppError('INVITATION_USED', 'The candidate has already used this invitation');
    return new AppError('CONFLICT', 'This invitation was revoked');
  }

  private async whyUnusable(tokenHash: string, now: Date): Promise<AppError> {
    const row = await this.invitations.findByTokenHash(tokenHash);
    if (!row) return new AppError('NOT_FOUND', 'Invitation not found');
    if (row.usedAt) return new AppError('INVITATION_USED', 'This invitation link was already used');
    if (row.revokedAt) return new AppError('INVITATION_EXPIRED', 'This invitation was withdrawn');
    if (row.expiresAt <= now) return new AppError('INVITATION_EXPIRED', 'This invitation link has expired');
    return new AppError('CONFLICT', 'This invitation cannot be used right now');
  }
}

function capAt(at: Date, cap: Date | null): Date {
  return cap && cap < at ? cap : at;
}

export function invitationStatus(i: InvitationRecord, now: Date): TCandidateInvitation['status'] {
  if (i.revokedAt) return 'revoked';
  if (i.usedAt) return 'accepted';
  if (i.expiresAt <= now) return 'expired';
  return 'pending';
}

function toInvitation(i: InvitationRecord, now: Date): TCandidateInvitation {
  return {
    id: i.id,
    interviewId: i.interviewId!,
    sessionId: i.sessionId,
    name: i.name,
    email: i.email,
    status: invitationStatus(i, now),
    expiresAt: i.expiresAt.toISOString(),
    sentAt: i.sentAt?.toISOString() ?? null,
    remindedAt: i.remindedAt?.toISOString() ?? null,
    deliveryFailedAt: i.deliveryFailedAt?.toISOString() ?? null,
    deliveryFailure: i.deliveryFailedAt ? i.deliveryFailure : null,
    usedAt: i.usedAt?.toISOString() ?? null,
    revokedAt: i.revokedAt?.toISOString() ?? null,
    createdAt: i.createdAt.toISOString(),
  };
}

import {
  EMAIL_REQUESTED,
  emailRequestKey,
  REPORT_RENDERED,
  ZEmailRequest,
  ZInterviewCompletedEvent,
  ZInterviewScoredEvent,
  ZReportRenderedEvent,
  type TEmailRequest,
  type TInterviewCompletedEvent,
  type TInterviewScoredEvent,
  type TReportRenderedEvent,
} from '@parley/contracts';
import { createHash, randomBytes } from 'node:crypto';
import { and, eq, lt } from 'drizzle-orm';
import type { Database } from '../../infra/db/database.ts';
import { processedMessages } from '../../infra/db/schema.ts';
import type { Mailer } from '../../infra/mail/mail.ts';
import { isAppError, type AppError } from '../../shared/app-error.ts';
import { defineJob, PermanentJobError, type JobContext, type JobDefinition } from '../job.ts';
import { isProcessed, markProcessed } from '../job-runner.ts';
import { dlqOf, retryPolicyOf } from '../worker-topology.ts';
import { NotificationRepository } from './notification.repository.ts';
import { renderEmail, type EmailTemplate } from './templates.ts';

export const EMAIL_QUEUE = 'notification.email';

export interface EmailJobDeps {
  database: Database;
  mail: Mailer;
  /** Base URL of the web app, for links. */
  publicUrl: string;
  clock?: () => Date;
}

const IDEMPOTENCY =
  'processed_messages (consumer notification.email, key <kind>:<id>[:<request id>|:<recipient>]) checked before and ' +
  'written after each send, with a leased claim (consumer notification.email.claims) around the send so a ' +
  'concurrent duplicate waits for a retry; a crash between send and mark can repeat one e-mail (at-least-once), never skip it';

/** Claims of e-mails being sent, in `processed_messages` under their own consumer name. */
const EMAIL_CLAIMS = 'notification.email.claims';
/** A claim older than this belongs to a worker that died mid-send (the job's time limit is 60 s). */
const CLAIM_LEASE_MS = 2 * 60_000;

/**
 * The `notification.email` queue's jobs: requested e-mails (candidate invitation and reminder,
 * staff invitation), the candidate's receipt on `interview.completed`, and "report ready" to the
 * recruiter once the report job has printed the report (`report.rendered`), or failed to.
 */
export function emailJobs(deps: EmailJobDeps): JobDefinition<never>[] {
  const sender = new EmailSender(deps);
  const requested = defineJob<TEmailRequest>({
    name: 'email.send',
    queue: EMAIL_QUEUE,
    routingKeys: [EMAIL_REQUESTED],
    payload: ZEmailRequest,
    timeoutMs: 60_000,
    retry: retryPolicyOf(EMAIL_QUEUE),
    deadLetterQueue: dlqOf(EMAIL_QUEUE),
    idempotency: IDEMPOTENCY,
    handle: (request, ctx) => sender.send(request, ctx),
  });
  const rendered = defineJob<TReportRenderedEvent>({
    name: 'email.report-ready',
    queue: EMAIL_QUEUE,
    routingKeys: [REPORT_RENDERED],
    payload: ZReportRenderedEvent,
    timeoutMs: 60_000,
    retry: retryPolicyOf(EMAIL_QUEUE),
    deadLetterQueue: dlqOf(EMAIL_QUEUE),
    idempotency:
      `${IDEMPOTENCY}; once per session as well (key report-ready:<session>), so a re-print after a score ` +
      'override, a print after a failed one, or a redelivery mails nobody again',
    handle: (event, ctx) => sender.reportReady(event, ctx),
  });
  const completed = defineJob<TInterviewCompletedEvent>({
    name: 'email.completion-receipt',
    queue: EMAIL_QUEUE,
    routingKeys: ['interview.completed'],
    payload: ZInterviewCompletedEvent,
    timeoutMs: 60_000,
    retry: retryPolicyOf(EMAIL_QUEUE),
    deadLetterQueue: dlqOf(EMAIL_QUEUE),
    idempotency: IDEMPOTENCY,
    handle: (event, ctx) =>
      sender.send({ kind: 'completion-receipt', orgId: event.orgId, sessionId: event.sessionId }, ctx),
  });
  // "Report ready" used to be sent on `interview.scored`. A RabbitMQ declared by an earlier version
  // keeps that binding on this queue (declaring never removes one), and messages may be queued
  // under it at the upgrade: they are acknowledged here, the report job's `report.rendered` mails.
  const scored = defineJob<TInterviewScoredEvent>({
    name: 'email.scored-superseded',
    queue: EMAIL_QUEUE,
    routingKeys: ['interview.scored'],
    payload: ZInterviewScoredEvent,
    timeoutMs: 10_000,
    retry: retryPolicyOf(EMAIL_QUEUE),
    deadLetterQueue: dlqOf(EMAIL_QUEUE),
    idempotency: 'nothing to repeat: the message is only acknowledged',
    handle: async (event, ctx) => {
      ctx.logger.debug({ sessionId: event.sessionId }, 'interview.scored: "report ready" waits for report.rendered');
    },
  });
  return [requested, completed, rendered, scored] as JobDefinition<never>[];
}

/** Why an invitation's link is no longer worth mailing, or null while it can still be used. */
function whyNotMailed(
  inv: { usedAt: Date | null; revokedAt: Date | null; expiresAt: Date } | null,
  now: Date,
): string | null {
  if (!inv) return 'the invitation does not exist';
  if (inv.usedAt) return 'the invitation was used';
  if (inv.revokedAt) return 'the invitation was revoked';
  if (inv.expiresAt <= now) return 'the invitation has expired';
  return null;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

class EmailSender {
  private readonly repo: NotificationRepository;
  private readonly clock: () => Date;
  private readonly base: string;

  constructor(private readonly deps: EmailJobDeps) {
    this.repo = new NotificationRepository(deps.database);
    this.clock = deps.clock ?? (() => new Date());
    this.base = deps.publicUrl.replace(/\/+$/, '');
  }

  async send(request: TEmailRequest, ctx: JobContext): Promise<void> {
    switch (request.kind) {
      case 'invitation':
      case 'reminder':
      case 'staff-invitation': {
        const { kind, orgId, invitationId } = request;
        const key = emailRequestKey(request);
        return this.once(key, () =>
          kind === 'staff-invitation'
            ? this.staffInvitation(orgId, invitationId, key, ctx)
            : this.invitation(kind, orgId, invitationId, key, ctx),
        );
      }
      case 'completion-receipt': {
        const key = emailRequestKey(request);
        return this.once(key, () => this.receipt(request.orgId, request.sessionId, key, ctx));
      }
    }
  }

  /**
   * Runs the work of one e-mail unless it is marked sent. While it runs, a claim row (with a lease,
   * for a worker that dies mid-send) keeps a concurrent duplicate delivery from sending it too:
   * that delivery fails and is retried, by when the e-mail is marked sent.
   */
  private async once(key: string, work: () => Promise<void>): Promise<void> {
    const db = this.deps.database.primary;
    if (await isProcessed(db, EMAIL_QUEUE, key)) return;
    const now = this.clock();
    const claimed = await db
      .insert(processedMessages)
      .values({ consumer: EMAIL_CLAIMS, messageId: key, processedAt: now })
      .onConflictDoUpdate({
        target: [processedMessages.consumer, processedMessages.messageId],
        set: { processedAt: now },
        where: lt(processedMessages.processedAt, new Date(now.getTime() - CLAIM_LEASE_MS)),
      })
      .returning({ id: processedMessages.messageId });
    if (claimed.length === 0) throw new Error(`E-mail ${key} is being sent by another delivery; retried later`);
    try {
      if (await isProcessed(db, EMAIL_QUEUE, key)) return;
      await work();
    } finally {
      await db
        .delete(processedMessages)
        .where(and(eq(processedMessages.consumer, EMAIL_CLAIMS), eq(processedMessages.messageId, key)));
    }
  }

  private async invitation(kind: 'invitation' | 'reminder', orgId: string, id: string, key: string, ctx: JobContext) {
    const inv = await this.repo.invitation(orgId, id);
    const now = this.clock();
    const skip =
      whyNotMailed(inv, now) ??
      (inv?.interviewStatus !== 'published' ? 'the interview no longer takes candidates' : null);
    if (skip || !inv) {
      ctx.logger.info({ kind, invitationId: id, reason: skip }, 'e-mail not sent');
      return;
    }
    // Only a hash of a link's token is stored, so each mail carries a fresh token; the previous link stops working.
    const token = randomBytes(32).toString('base64url');
    if (!(await this.repo.replaceToken(orgId, id, sha256(token)))) return;
    const link = `${this.base}/take#token=${token}`;
    const template: EmailTemplate = {
      kind,
      name: inv.name,
      interviewTitle: inv.interviewTitle,
      orgName: inv.orgName,
      link,
      validUntil: inv.expiresAt,
    };
    // A failed reminder says so: the invitation itself may have been delivered.
    await this.deliver(inv.email, template, key, ctx, (reason) =>
      this.repo.recordFailure(orgId, id, kind === 'reminder' ? `reminder: ${reason}` : reason, this.clock()),
    );
    await this.repo.recordSent(orgId, id, kind === 'invitation' ? 'sentAt' : 'remindedAt', this.clock());
  }

  /** A recruiter's or admin's invitation: the same link handling, to `/join`. */
  private async staffInvitation(orgId: string, id: string, key: string, ctx: JobContext) {
    const inv = await this.repo.staffInvitation(orgId, id);
    const now = this.clock();
    const skip = whyNotMailed(inv, now);
    if (skip || !inv) {
      ctx.logger.info({ kind: 'staff-invitation', invitationId: id, reason: skip }, 'e-mail not sent');
      return;
    }
    const token = randomBytes(32).toString('base64url');
    if (!(await this.repo.replaceToken(orgId, id, sha256(token)))) return;
    const template: EmailTemplate = {
      kind: 'staff-invitation',
      name: inv.name,
      role: inv.role === 'admin' ? 'admin' : 'recruiter',
      orgName: inv.orgName,
      link: `${this.base}/join?token=${token}`,
      validUntil: inv.expiresAt,
    };
    await this.deliver(inv.email, template, key, ctx, (reason) =>
      this.repo.recordFailure(orgId, id, reason, this.clock()),
    );
    await this.repo.recordSent(orgId, id, 'sentAt', this.clock());
  }

  private async receipt(orgId: string, sessionId: string, key: string, ctx: JobContext) {
    const s = await this.repo.session(orgId, sessionId);
    if (!s?.completedAt) {
      ctx.logger.info({ sessionId }, 'no completed session; receipt not sent');
      return;
    }
    await this.deliver(
      s.candidateEmail,
      {
        kind: 'completion-receipt',
        name: s.candidateName,
        interviewTitle: s.interviewTitle,
        orgName: s.orgName,
        completedAt: s.completedAt,
      },
      key,
      ctx,
    );
  }

  /**
   * "Report ready" to the interview's author (else every active recruiter and admin), once the
   * report job has stored the PDF or given up printing it. Once per recipient and once per session:
   * later prints of the same session (an override, a retry of a failed print) mail nobody.
   */
  async reportReady(event: TReportRenderedEvent, ctx: JobContext): Promise<void> {
    const { orgId, sessionId } = event;
    const db = this.deps.database.primary;
    const sessionKey = `report-ready:${sessionId}`;
    if (await isProcessed(db, EMAIL_QUEUE, sessionKey)) return;
    const s = await this.repo.session(orgId, sessionId);
    if (!s) {
      ctx.logger.info({ sessionId }, 'session is gone; report-ready not sent');
      return;
    }
    const recipients = await this.repo.reportRecipients(orgId, s.interviewOwner);
    const overall = await this.overall(orgId, sessionId);
    // One mark per recipient: a retry after a partial failure mails only those not yet reached,
    // and an address refused for good does not keep the others from being mailed.
    for (const r of recipients) {
      const key = `report-ready:${sessionId}:${r.id}`;
      try {
        await this.once(key, () =>
          this.deliver(
            r.email,
            {
              kind: 'report-ready',
              recruiterName: r.name || r.email,
              candidateName: s.candidateName || 'the candidate',
              interviewTitle: s.interviewTitle,
              link: `${this.base}/sessions/${sessionId}`,
              overall,
              pdf: event.pdf,
            },
            key,
            ctx,
          ),
        );
      } catch (err) {
        if (!(err instanceof PermanentJobError)) throw err;
      }
    }
    await markProcessed(db, EMAIL_QUEUE, sessionKey);
  }

  private async overall(orgId: string, sessionId: string): Promise<number | null> {
    return this.repo.sessionScore(orgId, sessionId);
  }

  /**
   * Sends one e-mail and marks it sent. A refused or malformed address will be refused again: that
   * is a `PermanentJobError` (not retried); anything else (server down, 4xx) is thrown for a retry.
   * `undelivered` hears why when the e-mail is given up: refused, or failed on its last attempt.
   */
  private async deliver(
    to: string,
    template: EmailTemplate,
    key: string,
    ctx: JobContext,
    undelivered?: (reason: string) => Promise<void>,
  ): Promise<void> {
    const mail = renderEmail(template);
    try {
      await this.deps.mail.send({ to, ...mail, headers: { 'X-Parley-Notification': template.kind } });
    } catch (err) {
      const refusal = refusalOf(err);
      if (refusal !== null || ctx.lastAttempt) {
        const reason = refusal ?? `not delivered after ${ctx.attempt} attempts: ${errorMessage(err)}`;
        await undelivered?.(shorten(reason)).catch((recordErr: unknown) => {
          ctx.logger.error({ err: recordErr, kind: template.kind }, 'e-mail failure not recorded');
        });
      }
      if (refusal !== null) {
        ctx.logger.warn({ err, kind: template.kind }, 'e-mail refused');
        throw new PermanentJobError(`${template.kind} e-mail refused: ${errorMessage(err)}`);
      }
      throw err;
    }
    await markProcessed(this.deps.database.primary, EMAIL_QUEUE, key);
    ctx.logger.info({ kind: template.kind }, 'e-mail sent');
  }
}

/** Why an address was refused for good, in words for staff; null when the failure may pass. */
function refusalOf(err: unknown): string | null {
  if (!isAppError(err)) return null;
  if (err.code === 'VALIDATION_FAILED') return `address not accepted: ${err.message}`;
  // Recipients refused with a 5xx: listed in `rejected` when the server took others, an envelope
  // error (nodemailer's EENVELOPE) when it took none. Other 5xx (authentication, a rejected body)
  // are the server's configuration, not the address: those are retried and dead-lettered.
  if (err.code === 'UPSTREAM_FAILED' && (hasRejected(err.details) || detailsOf(err).code === 'EENVELOPE')) {
    return `refused by the mail server: ${serverAnswer(err) ?? err.message}`;
  }
  return null;
}

const detailsOf = (err: AppError) =>
  (typeof err.details === 'object' && err.details !== null ? err.details : {}) as Record<string, unknown>;

function hasRejected(details: unknown): boolean {
  return typeof details === 'object' && details !== null && Array.isArray((details as { rejected?: unknown }).rejected);
}

/** The SMTP server's own answer (e.g. "550 5.1.1 Mailbox unavailable"), when the error carries it. */
function serverAnswer(err: AppError): string | null {
  const response = detailsOf(err).response;
  return typeof response === 'string' && /^5\d\d/.test(response) ? response : null;
}

const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** One line of at most 200 characters: it is shown in a table cell. */
const shorten = (s: string) => {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
};

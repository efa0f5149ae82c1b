import {
  EMAIL_REQUESTED,
  emailRequestKey,
  ZEmailRequest,
  ZInterviewCompletedEvent,
  ZInterviewScoredEvent,
  type TEmailRequest,
  type TInterviewCompletedEvent,
  type TInterviewScoredEvent,
} from '@parley/contracts';
import { createHash, randomBytes } from 'node:crypto';
import type { Broker } from '../../infra/broker/broker.ts';
import { and, eq, lt } from 'drizzle-orm';
import type { Database } from '../../infra/db/database.ts';
import { processedMessages } from '../../infra/db/schema.ts';
import type { Mailer } from '../../infra/mail/mail.ts';
import { isAppError } from '../../shared/app-error.ts';
import { defineJob, PermanentJobError, type JobContext, type JobDefinition } from '../job.ts';
import { isProcessed, markProcessed } from '../job-runner.ts';
import { dlqOf, retryPolicyOf } from '../worker-topology.ts';
import { NotificationRepository } from './notification.repository.ts';
import { renderEmail, type EmailTemplate } from './templates.ts';

export const EMAIL_QUEUE = 'notification.email';

/**
 * Asks the workers to send an e-mail (the request's schema and routing key live in the contracts,
 * where other contexts publish them from too); the message id makes a repeated request one e-mail.
 */
export async function requestEmail(broker: Broker, request: TEmailRequest): Promise<void> {
  await broker.publish(EMAIL_REQUESTED, ZEmailRequest.parse(request), {
    messageId: `email:${emailRequestKey(request)}`,
  });
}

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
 * The `notification.email` queue's jobs: requested e-mails (invitation, reminder), the candidate's
 * receipt on `interview.completed`, and "report ready" to the recruiter on `interview.scored`.
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
  const scored = defineJob<TInterviewScoredEvent>({
    name: 'email.report-ready',
    queue: EMAIL_QUEUE,
    routingKeys: ['interview.scored'],
    payload: ZInterviewScoredEvent,
    timeoutMs: 60_000,
    retry: retryPolicyOf(EMAIL_QUEUE),
    deadLetterQueue: dlqOf(EMAIL_QUEUE),
    idempotency: IDEMPOTENCY,
    handle: (event, ctx) => sender.send({ kind: 'report-ready', orgId: event.orgId, sessionId: event.sessionId }, ctx),
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
  return [requested, completed, scored] as JobDefinition<never>[];
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
      case 'reminder': {
        const { kind, orgId, invitationId } = request;
        const key = emailRequestKey(request);
        return this.once(key, () => this.invitation(kind, orgId, invitationId, key, ctx));
      }
      case 'completion-receipt': {
        const key = emailRequestKey(request);
        return this.once(key, () => this.receipt(request.orgId, request.sessionId, key, ctx));
      }
      case 'report-ready':
        return this.reportReady(request.orgId, request.sessionId, ctx);
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
    const skip = !inv
      ? 'the invitation does not exist'
      : inv.usedAt
        ? 'the invitation was used'
        : inv.revokedAt
          ? 'the invitation was revoked'
          : inv.expiresAt <= now
            ? 'the invitation has expired'
            : inv.interviewStatus !== 'published'
              ? 'the interview no longer takes candidates'
              : null;
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
    await this.deliver(inv.email, template, key, ctx);
    await this.repo.recordSent(orgId, id, kind === 'invitation' ? 'sentAt' : 'remindedAt', this.clock());
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

  private async reportReady(orgId: string, sessionId: string, ctx: JobContext) {
    const s = await this.repo.session(orgId, sessionId);
    if (!s) {
      ctx.logger.info({ sessionId }, 'session is gone; report-ready not sent');
      return;
    }
    const recipients = await this.repo.reportRecipients(orgId, s.interviewOwner);
    const overall = await this.overall(orgId, sessionId);
    // One mark per recipient: a retry after a partial failure mails only those not yet reached.
    for (const r of recipients) {
      const key = `report-ready:${sessionId}:${r.id}`;
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
          },
          key,
          ctx,
        ),
      );
    }
  }

  private async overall(orgId: string, sessionId: string): Promise<number | null> {
    return this.repo.sessionScore(orgId, sessionId);
  }

  private async deliver(to: string, template: EmailTemplate, key: string, ctx: JobContext): Promise<void> {
    const mail = renderEmail(template);
    try {
      await this.deps.mail.send({ to, ...mail, headers: { 'X-Parley-Notification': template.kind } });
    } catch (err) {
      // A refused or malformed address will be refused again; anything else (server down, 4xx) is retried.
      if (
        isAppError(err) &&
        (err.code === 'VALIDATION_FAILED' || (err.code === 'UPSTREAM_FAILED' && hasRejected(err.details)))
      ) {
        ctx.logger.warn({ err, kind: template.kind }, 'e-mail refused');
        throw new PermanentJobError(`${template.kind} e-mail refused: ${err.message}`);
      }
      throw err;
    }
    await markProcessed(this.deps.database.primary, EMAIL_QUEUE, key);
    ctx.logger.info({ kind: template.kind }, 'e-mail sent');
  }
}

function hasRejected(details: unknown): boolean {
  return typeof details === 'object' && details !== null && Array.isArray((details as { rejected?: unknown }).rejected);
}

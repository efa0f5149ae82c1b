/**
 * The `notification.email` jobs, run by every broker, database and storage the workers run on:
 * `notification-email.test.ts` on the embedded ones, `notification-email.real.test.ts` on
 * RabbitMQ, PostgreSQL and S3. Mail goes to a real SMTP server in the test process.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { EMAIL_REQUESTED, REPORT_RENDERED, type TEmailRequest, type TReportRenderedEvent } from '@parley/contracts';
import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Broker } from '../../infra/broker/broker.ts';
import type { Database } from '../../infra/db/database.ts';
import { invitations, scores, users } from '../../infra/db/schema.ts';
import { SmtpMailer } from '../../infra/mail/smtp-mail.ts';
import type { Storage } from '../../infra/storage/storage.ts';
import { dispatchJob, startWorkers, type ReportPrinter } from '../index.ts';
import {
  createCandidateSession,
  createInterview,
  createInvitation,
  createOrg,
  eventually,
  silentLogger,
} from '../testing/worker-fixtures.ts';
import { recipientsOf as to, startSmtpPeer, type SmtpPeer } from '../testing/smtp-peer.ts';
import { retryPolicyOf } from '../worker-topology.ts';
import { requestEmail } from '../../shared/email-requests.ts';
import { EMAIL_QUEUE, emailJobs } from './notification-email.job.ts';

/** Where the workers run: a migrated database, storage, and a broker declared with `WORKER_TOPOLOGY`. */
export interface EmailSuiteWorld {
  database: Database;
  storage: Storage;
  /** The workers' connection. */
  broker: Broker;
  /** Another process's connection to the same broker, for publishing as the other contexts do. */
  publisher: Broker;
  close(): Promise<void>;
}

export function notificationEmailSuite(name: string, setup: () => Promise<EmailSuiteWorld>): void {
  describe(`notification.email (${name})`, () => {
    let env: EmailSuiteWorld;
    let f: { database: Database };
    let broker: Broker;
    let peer: SmtpPeer;
    let mailer: SmtpMailer;
    let workers: { stop(): Promise<void> } | undefined;
    const now = new Date();

    /** The workers, with the report job when a printer is given (the scoring context's otherwise). */
    const start = (reports: ReportPrinter | null) =>
      startWorkers(
        {
          config: { server: { publicUrl: 'https://parley.test/' } as never },
          reports,
          database: env.database,
          storage: env.storage,
          broker: env.broker,
          mail: mailer,
          logger: silentLogger(),
        },
        { maintenanceIntervalMs: null },
      );

    beforeEach(async () => {
      env = await setup();
      f = env;
      broker = env.publisher;
      peer = await startSmtpPeer();
      mailer = new SmtpMailer({ url: peer.url, from: 'Parley <no-reply@parley.test>' });
      workers = await start(null);
    });

    afterEach(async () => {
      await workers?.stop();
      await mailer?.close();
      await peer?.close();
      await env?.close();
    });

    const drained = () =>
      eventually('the e-mail queue to drain', async () => {
        const q = (await broker.stats()).find((s) => s.queue === 'notification.email')!;
        return q.depth === 0;
      });

    async function world() {
      const org = await createOrg(f.database);
      const { interviewId } = await createInterview(f.database, org.orgId, org.recruiterId, 'Backend <Engineer>');
      return { ...org, interviewId };
    }

    const invitationRow = async (id: string) =>
      (await f.database.primary.select().from(invitations).where(eq(invitations.id, id)))[0]!;

    /** A scored session with a final score of 3.6 / 5, as the scoring context leaves it. */
    async function scoredSession(w: Awaited<ReturnType<typeof world>>) {
      const s = await createCandidateSession(f.database, { ...w, status: 'scored', completedAt: now });
      await f.database.primary.insert(scores).values({
        orgId: w.orgId,
        sessionId: s.sessionId,
        kind: 'session',
        score: 3.6,
        maxScore: 5,
        provider: 'offline',
        model: 'rubric',
        promptVersion: '1',
      });
      return s;
    }

    /** What the report job announces after a print (`ready`) or a print given up (`failed`). */
    const rendered = (event: TReportRenderedEvent, messageId: string = randomUUID()) =>
      broker.publish(REPORT_RENDERED, event, { messageId });

    it('mails an invitation with a working single-use link, in text and HTML, and records it as sent', async () => {
      const w = await world();
      const expiresAt = new Date(now.getTime() + 3 * 24 * 3600_000);
      const invitationId = await createInvitation(f.database, { ...w, email: 'cora@example.test', expiresAt });
      await requestEmail(broker, { kind: 'invitation', orgId: w.orgId, invitationId });
      const [mail] = await eventually('the invitation', async () => (peer.mails.length ? peer.mails : undefined));
      expect(to(mail!)).toEqual(['cora@example.test']);
      expect(mail!.subject).toBe('Your interview: Backend <Engineer>');
      expect(mail!.text).toContain('Acme Hiring invites you');
      expect(mail!.html).toContain('Backend &#60;Engineer&#62;');
      const token = /#token=([A-Za-z0-9_-]+)/.exec(mail!.text!)![1]!;
      expect(mail!.html).toContain(`#token=${token}`);
      const [row] = await f.database.primary.select().from(invitations).where(eq(invitations.id, invitationId));
      expect(row!.tokenHash).toBe(createHash('sha256').update(token).digest('hex'));
      expect(row!.sentAt).not.toBeNull();
    });

    it('mails each staff request (its own request id) once, each with a new link that retires the last', async () => {
      const w = await world();
      const expiresAt = new Date(now.getTime() + 3 * 24 * 3600_000);
      const invitationId = await createInvitation(f.database, { ...w, email: 'resent@example.test', expiresAt });
      const first = { kind: 'invitation' as const, orgId: w.orgId, invitationId, requestId: randomUUID() };
      await requestEmail(broker, first);
      await requestEmail(broker, first);
      await eventually('the invitation', async () => peer.mails.length === 1);
      await requestEmail(broker, { kind: 'reminder', orgId: w.orgId, invitationId, requestId: randomUUID() });
      await eventually('the reminder', async () => peer.mails.length === 2);
      await drained();
      expect(peer.mails.map((m) => m.subject)).toEqual([
        'Your interview: Backend <Engineer>',
        'Reminder: your interview Backend <Engineer>',
      ]);
      const tokens = peer.mails.map((m) => /#token=([A-Za-z0-9_-]+)/.exec(m.text!)![1]!);
      const [row] = await f.database.primary.select().from(invitations).where(eq(invitations.id, invitationId));
      expect(row!.tokenHash).toBe(createHash('sha256').update(tokens[1]!).digest('hex'));
      expect(row!.sentAt).not.toBeNull();
      expect(row!.remindedAt).not.toBeNull();
    });

    it('reminds each pending invitation once before its deadline, and not those far from it or used', async () => {
      const w = await world();
      const soon = new Date(now.getTime() + 6 * 3600_000);
      const later = new Date(now.getTime() + 5 * 24 * 3600_000);
      const due = await createInvitation(f.database, { ...w, email: 'due@example.test', expiresAt: soon, sentAt: now });
      await createInvitation(f.database, { ...w, email: 'later@example.test', expiresAt: later, sentAt: now });
      const used = await createInvitation(f.database, {
        ...w,
        email: 'used@example.test',
        expiresAt: soon,
        sentAt: now,
      });
      await f.database.primary.update(invitations).set({ usedAt: now }).where(eq(invitations.id, used));

      await broker.publish('worker.maintenance.remind-due', {}, { messageId: 'tick-1' });
      await eventually('the reminder', async () => peer.mails.length === 1);
      await broker.publish('worker.maintenance.remind-due', {}, { messageId: 'tick-2' });
      await eventually('the second scan', async () => {
        const q = (await broker.stats()).find((s) => s.queue === 'worker.maintenance')!;
        return q.depth === 0;
      });
      await drained();
      expect(peer.mails.map(to)).toEqual([['due@example.test']]);
      expect(peer.mails[0]!.subject).toBe('Reminder: your interview Backend <Engineer>');
      expect(peer.mails[0]!.text).toMatch(/stops working on/);
      const [row] = await f.database.primary.select().from(invitations).where(eq(invitations.id, due));
      expect(row!.remindedAt).not.toBeNull();
    });

    it('sends the candidate a completion receipt once, however often it is requested', async () => {
      const w = await world();
      const s = await createCandidateSession(f.database, { ...w, status: 'completed', completedAt: now });
      await requestEmail(broker, { kind: 'completion-receipt', orgId: w.orgId, sessionId: s.sessionId });
      await eventually('the receipt', async () => peer.mails.length === 1);
      await broker.publish('notification.email.requested', {
        kind: 'completion-receipt',
        orgId: w.orgId,
        sessionId: s.sessionId,
      });
      const other = await createCandidateSession(f.database, { ...w, status: 'completed', completedAt: now });
      await requestEmail(broker, { kind: 'completion-receipt', orgId: w.orgId, sessionId: other.sessionId });
      await eventually('the other receipt', async () => peer.mails.length >= 2);
      await drained();
      expect(peer.mails.map(to)).toEqual([[s.email], [other.email]]);
      expect(to(peer.mails[0]!)).toEqual([s.email]);
      expect(peer.mails[0]!.subject).toBe('We received your interview: Backend <Engineer>');
      expect(peer.mails[0]!.html).toContain('Thank you');
    });

    it('tells the interview author the report is ready once the report job has stored the PDF, not on scoring', async () => {
      const w = await world();
      const s = await scoredSession(w);
      // The report job's printer, held until the test lets the print finish.
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const printing: string[] = [];
      await workers!.stop();
      workers = await start({
        async printStored(_orgId, sessionId) {
          printing.push(sessionId);
          await held;
          return 'printed';
        },
      });
      await broker.publish('interview.scored', {
        orgId: w.orgId,
        sessionId: s.sessionId,
        interviewId: w.interviewId,
        overall: 3.6,
        scoredAt: now.toISOString(),
      });
      try {
        await eventually('the print to start', async () => printing.length === 1);
        // While the print is held, a receipt requested now is mailed; had the e-mail queue taken
        // `interview.scored` (it did before the report job announced its prints), it would have
        // started on it before this request and mailed "report ready" too.
        await drained();
        const other = await createCandidateSession(f.database, { ...w, status: 'completed', completedAt: now });
        await requestEmail(broker, { kind: 'completion-receipt', orgId: w.orgId, sessionId: other.sessionId });
        await eventually('the receipt', async () => peer.mails.length >= 1);
        await drained();
        expect(peer.mails.map((m) => m.headers.get('x-parley-notification'))).toEqual(['completion-receipt']);
      } finally {
        // Never left holding: the workers wait for the job in flight when they stop.
        release();
      }
      await eventually('the report-ready mail', async () => peer.mails.length === 2);
      const mail = peer.mails[1];
      expect(to(mail!)).toEqual([w.recruiterEmail]);
      expect(mail!.subject).toBe('Report ready: Cora Candidate — Backend <Engineer>');
      expect(mail!.text).toContain('Overall score: 3.6 / 5.');
      expect(mail!.text).toContain('Its PDF can be downloaded from the report page.');
      expect(mail!.text).toContain(`https://parley.test/sessions/${s.sessionId}`);
      expect(mail!.headers.get('x-parley-notification')).toBe('report-ready');
    });

    it('says the PDF could not be printed when printing failed, and mails once however often it is printed again', async () => {
      const w = await world();
      const s = await scoredSession(w);
      await rendered({ orgId: w.orgId, sessionId: s.sessionId, pdf: 'failed' });
      await eventually('the report-ready mail', async () => peer.mails.length === 1);
      // A later print (the PDF asked for after the cool-down, an override), and a redelivery of it.
      await rendered({ orgId: w.orgId, sessionId: s.sessionId, pdf: 'ready' }, 'print-2');
      await rendered({ orgId: w.orgId, sessionId: s.sessionId, pdf: 'ready' }, 'print-2');
      await rendered({ orgId: w.orgId, sessionId: s.sessionId, pdf: 'ready' }, 'print-3');
      await drained();
      expect(peer.mails.map(to)).toEqual([[w.recruiterEmail]]);
      expect(peer.mails[0]!.text).toContain('Overall score: 3.6 / 5.');
      expect(peer.mails[0]!.text).toContain('Its PDF could not be printed; the report is readable online');
    });

    it('mails every other recipient of "report ready" when one address is refused', async () => {
      const org = await createOrg(f.database);
      // No author: every active recruiter and admin hears of it.
      const { interviewId } = await createInterview(f.database, org.orgId, null, 'Backend <Engineer>');
      const [admin] = await f.database.primary
        .insert(users)
        .values({ orgId: org.orgId, email: `ada-${randomUUID()}@acme.test`, name: 'Ada Admin', role: 'admin' })
        .returning({ email: users.email });
      const s = await scoredSession({ ...org, interviewId });
      peer.refuse.add(org.recruiterEmail);
      await rendered({ orgId: org.orgId, sessionId: s.sessionId, pdf: 'ready' });
      await eventually(
        'the mail to the admin and the refusal',
        async () => peer.mails.length + peer.refused.length === 2,
      );
      await drained();
      expect(peer.mails.map(to)).toEqual([[admin!.email]]);
      expect(peer.refused).toEqual([org.recruiterEmail]);
    });

    it('acknowledges interview.scored on the e-mail queue without mailing (a binding left by an earlier version)', async () => {
      const w = await world();
      const s = await scoredSession(w);
      const jobs = emailJobs({ database: f.database, mail: mailer, publicUrl: 'https://parley.test' });
      const event = {
        orgId: w.orgId,
        sessionId: s.sessionId,
        interviewId: w.interviewId,
        overall: 3.6,
        scoredAt: now.toISOString(),
      };
      const message = {
        messageId: 'scored-1',
        routingKey: 'interview.scored',
        payload: event,
        headers: {},
        attempt: 1,
      };
      await expect(dispatchJob(jobs, message, silentLogger())).resolves.toBeUndefined();
      expect(peer.mails).toHaveLength(0);
    });

    it('mails a staff invitation with a single-use /join link and records it as sent', async () => {
      const w = await world();
      const [row] = await f.database.primary
        .insert(invitations)
        .values({
          orgId: w.orgId,
          kind: 'recruiter',
          role: 'admin',
          name: 'Sam Staff',
          email: 'sam@acme.test',
          tokenHash: randomBytes(32).toString('hex'),
          expiresAt: new Date(now.getTime() + 7 * 24 * 3600_000),
        })
        .returning({ id: invitations.id });
      await requestEmail(broker, {
        kind: 'staff-invitation',
        orgId: w.orgId,
        invitationId: row!.id,
        requestId: randomUUID(),
      });
      const [mail] = await eventually('the staff invitation', async () => (peer.mails.length ? peer.mails : undefined));
      expect(to(mail!)).toEqual(['sam@acme.test']);
      expect(mail!.subject).toBe('You are invited to Parley by Acme Hiring');
      expect(mail!.text).toContain('Acme Hiring invites you to join Parley as an admin.');
      const token = /\/join\?token=([A-Za-z0-9_-]+)/.exec(mail!.text!)![1]!;
      expect(mail!.html).toContain(`https://parley.test/join?token=${token}`);
      const stored = await invitationRow(row!.id);
      expect(stored.tokenHash).toBe(createHash('sha256').update(token).digest('hex'));
      expect(stored.sentAt).not.toBeNull();
    });

    it('records a refused address on the invitation at once, and clears it when a resent link is delivered', async () => {
      const w = await world();
      const expiresAt = new Date(now.getTime() + 3 * 24 * 3600_000);
      const invitationId = await createInvitation(f.database, { ...w, email: 'typo@example.test', expiresAt });
      peer.refuse.add('typo@example.test');
      await requestEmail(broker, { kind: 'invitation', orgId: w.orgId, invitationId, requestId: randomUUID() });
      // Recorded on the first attempt: a refusal is not retried.
      const failed = await eventually('the failure', async () => {
        const row = await invitationRow(invitationId);
        return row.deliveryFailedAt ? row : undefined;
      });
      expect(failed.deliveryFailure).toBe('refused by the mail server: 550 Mailbox unavailable');
      expect(failed.sentAt).toBeNull();
      expect(peer.refused).toEqual(['typo@example.test']);

      // The mailbox is fixed and the recruiter resends.
      peer.refuse.delete('typo@example.test');
      await requestEmail(broker, { kind: 'invitation', orgId: w.orgId, invitationId, requestId: randomUUID() });
      const sent = await eventually('the delivery', async () => {
        const row = await invitationRow(invitationId);
        return row.sentAt ? row : undefined;
      });
      expect([sent.deliveryFailedAt, sent.deliveryFailure]).toEqual([null, null]);
      expect(peer.mails.map(to)).toEqual([['typo@example.test']]);
    });

    it('records the failure when the last attempt to reach the mail server fails, and not before', async () => {
      const w = await world();
      const expiresAt = new Date(now.getTime() + 3 * 24 * 3600_000);
      const invitationId = await createInvitation(f.database, { ...w, email: 'later@example.test', expiresAt });
      // Nothing listens on port 1: every attempt fails the way a mail server that is down does.
      const down = new SmtpMailer({ url: 'smtp://127.0.0.1:1', from: 'Parley <no-reply@parley.test>' });
      try {
        const jobs = emailJobs({ database: f.database, mail: down, publicUrl: 'https://parley.test' });
        const request: TEmailRequest = { kind: 'invitation', orgId: w.orgId, invitationId, requestId: randomUUID() };
        const attempt = (n: number) =>
          dispatchJob(
            jobs,
            { messageId: 'm', routingKey: EMAIL_REQUESTED, payload: request, headers: {}, attempt: n },
            silentLogger(),
          );
        const { maxAttempts } = retryPolicyOf(EMAIL_QUEUE);
        await expect(attempt(1)).rejects.toThrow();
        expect((await invitationRow(invitationId)).deliveryFailedAt).toBeNull();
        await expect(attempt(maxAttempts)).rejects.toThrow();
        const row = await invitationRow(invitationId);
        expect(row.deliveryFailedAt).not.toBeNull();
        expect(row.deliveryFailure).toMatch(
          new RegExp(`^not delivered after ${maxAttempts} attempts: SMTP is unavailable`),
        );
        expect(row.sentAt).toBeNull();
      } finally {
        await down.close();
      }
    });

    it('sends the candidate a receipt when the interview is completed, once per session', async () => {
      const w = await world();
      const s = await createCandidateSession(f.database, { ...w, status: 'completed', completedAt: now });
      const event = {
        orgId: w.orgId,
        sessionId: s.sessionId,
        interviewId: w.interviewId,
        completedAt: now.toISOString(),
      };
      // As the interviews context publishes it, then once more (a publisher retry after a lost confirm).
      await broker.publish('interview.completed', event, { messageId: `interview.completed:${s.sessionId}` });
      await broker.publish('interview.completed', event, { messageId: `interview.completed:${s.sessionId}:again` });
      const other = await createCandidateSession(f.database, { ...w, status: 'completed', completedAt: now });
      await broker.publish('interview.completed', { ...event, sessionId: other.sessionId });
      await eventually('both receipts', async () => peer.mails.length >= 2);
      await drained();
      expect(peer.mails.map(to).sort()).toEqual([[s.email], [other.email]].sort());
      const mail = peer.mails.find((m) => to(m)[0] === s.email)!;
      expect(mail.subject).toBe('We received your interview: Backend <Engineer>');
      expect(mail.text).toContain('Thank you: we received your interview "Backend <Engineer>"');
      expect(mail.text).toContain('Acme Hiring will review your answers');
      expect(mail.html).toContain('Backend &#60;Engineer&#62;');
      expect(mail.headers.get('x-parley-notification')).toBe('completion-receipt');
    });

    it('retries an e-mail the SMTP server defers (451) and delivers it on a later attempt', async () => {
      const w = await world();
      const s = await createCandidateSession(f.database, { ...w, status: 'completed', completedAt: now });
      peer.deferOnce.add(s.email);
      await requestEmail(broker, { kind: 'completion-receipt', orgId: w.orgId, sessionId: s.sessionId });
      const [mail] = await eventually('the receipt after a retry', async () =>
        peer.mails.length ? peer.mails : undefined,
      );
      expect(peer.refused).toEqual([s.email]);
      expect(to(mail!)).toEqual([s.email]);
      const q = (await broker.stats()).find((x) => x.queue === 'notification.email')!;
      expect(q.deadLetters).toBe(0);
    });

    it('gives up on a refused recipient without retrying or dead-lettering', async () => {
      const w = await world();
      const s = await createCandidateSession(f.database, { ...w, status: 'completed', completedAt: now });
      peer.refuse.add(s.email);
      await requestEmail(broker, { kind: 'completion-receipt', orgId: w.orgId, sessionId: s.sessionId });
      await eventually('the refusal', async () => peer.refused.length === 1);
      await drained();
      expect(peer.refused).toEqual([s.email]);
      const q = (await broker.stats()).find((x) => x.queue === 'notification.email')!;
      expect(q.deadLetters).toBe(0);
      expect(peer.mails).toHaveLength(0);
    });
  });
}

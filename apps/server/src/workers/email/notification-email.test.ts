import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MemoryBroker } from '../../infra/broker/memory-broker.ts';
import { invitations, scores } from '../../infra/db/schema.ts';
import { SmtpMailer } from '../../infra/mail/smtp-mail.ts';
import { startWorkers } from '../index.ts';
import {
  createCandidateSession,
  createInterview,
  createInvitation,
  createOrg,
  embeddedFixtures,
  eventually,
  memoryBroker,
  silentLogger,
  type Fixtures,
} from '../testing/worker-fixtures.ts';
import { requestEmail } from './notification-email.job.ts';

// A real SMTP server (smtp-server) in this process: every e-mail crosses TCP and is parsed back.
interface Peer {
  url: string;
  mails: ParsedMail[];
  /** Recipients refused with 550 (permanent). */
  refuse: Set<string>;
  /** Every refused RCPT, in order. */
  refused: string[];
  close(): Promise<void>;
}

async function startPeer(): Promise<Peer> {
  const mails: ParsedMail[] = [];
  const refuse = new Set<string>();
  const refused: string[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _s, cb) {
      if (refuse.has(address.address)) refused.push(address.address);
      if (refuse.has(address.address)) cb(Object.assign(new Error('Mailbox unavailable'), { responseCode: 550 }));
      else cb();
    },
    onData(stream, _s, cb) {
      simpleParser(stream).then(
        (m) => {
          mails.push(m);
          cb();
        },
        (err: Error) => cb(err),
      );
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    refuse,
    refused,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let f: Fixtures;
let peer: Peer;
let broker: MemoryBroker;
let mailer: SmtpMailer;
let workers: { stop(): Promise<void> };
const now = new Date();

beforeEach(async () => {
  f = await embeddedFixtures();
  peer = await startPeer();
  broker = memoryBroker();
  mailer = new SmtpMailer({ url: peer.url, from: 'Parley <no-reply@parley.test>' });
  workers = await startWorkers(
    {
      config: { server: { publicUrl: 'https://parley.test/' } as never },
      database: f.database,
      storage: f.storage,
      broker,
      mail: mailer,
      logger: silentLogger(),
    },
    { maintenanceIntervalMs: null },
  );
});

afterEach(async () => {
  await workers.stop();
  await broker.close();
  await mailer.close();
  await peer.close();
  await f.close();
});

const to = (m: ParsedMail) => (Array.isArray(m.to) ? m.to : [m.to!]).flatMap((a) => a.value.map((v) => v.address));
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

describe('notification.email', () => {
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

  it('reminds each pending invitation once before its deadline, and not those far from it or used', async () => {
    const w = await world();
    const soon = new Date(now.getTime() + 6 * 3600_000);
    const later = new Date(now.getTime() + 5 * 24 * 3600_000);
    const due = await createInvitation(f.database, { ...w, email: 'due@example.test', expiresAt: soon, sentAt: now });
    await createInvitation(f.database, { ...w, email: 'later@example.test', expiresAt: later, sentAt: now });
    const used = await createInvitation(f.database, { ...w, email: 'used@example.test', expiresAt: soon, sentAt: now });
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

  it('tells the interview author the report is ready when the interview is scored, with the score', async () => {
    const w = await world();
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
    await broker.publish('interview.scored', {
      orgId: w.orgId,
      sessionId: s.sessionId,
      interviewId: w.interviewId,
      overall: 3.6,
      scoredAt: now.toISOString(),
    });
    const [mail] = await eventually('the report-ready mail', async () => (peer.mails.length ? peer.mails : undefined));
    expect(to(mail!)).toEqual([w.recruiterEmail]);
    expect(mail!.subject).toBe('Report ready: Cora Candidate — Backend <Engineer>');
    expect(mail!.text).toContain('Overall score: 3.6 / 5.');
    expect(mail!.text).toContain(`https://parley.test/sessions/${s.sessionId}`);
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

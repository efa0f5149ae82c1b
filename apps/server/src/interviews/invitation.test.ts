import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interviewSessions, invitations, processedMessages, users } from '../infra/db/schema.ts';
import type { StaffActor } from '../shared/actor.ts';
import { createHarness, questionBody, type Harness } from './testing.ts';

let h: Harness;
let recruiter: StaffActor;
let other: StaffActor;

beforeAll(async () => {
  h = await createHarness({ orgEmotionPolicy: 'scored' });
  ({ recruiter } = await h.org('Acme'));
  ({ recruiter: other } = await h.org('Globex'));
});
afterAll(async () => h.close());

let n = 0;
const email = () => `candidate-${++n}@example.test`;

async function publishedInterview(
  deadline: string | null = null,
  emotionPolicy: 'off' | 'insights' | 'scored' = 'insights',
) {
  const q = await h.module.questions.create(recruiter, questionBody());
  const interview = await h.module.interviews.create(recruiter, {
    title: 'Support engineer',
    description: '',
    settings: { language: 'en', deadline, emotionPolicy, weights: { answers: 1, emotion: 0, behavioral: 0 } },
    questions: [{ questionId: q.id, isPractice: false, prepSeconds: 10, retakesAllowed: 0 }],
  });
  await h.module.interviews.publish(recruiter, interview.id);
  return interview.id;
}

describe('candidate invitations', () => {
  it('creates a candidate and an invited session per person, queues an e-mail each, and stores only a hash', async () => {
    const interviewId = await publishedInterview();
    const [e1, e2] = [email(), email()];
    const created = await h.module.invitations.invite(recruiter, interviewId, {
      candidates: [
        { name: 'Ann', email: e1 },
        { name: 'Bob', email: e2.toUpperCase() },
      ],
    });
    // Queued, not sent: the e-mail job delivers it after the answer and records when.
    expect(created.map((i) => [i.email, i.status, i.sentAt])).toEqual([
      [e1, 'pending', null],
      [e2, 'pending', null],
    ]);
    expect(created[0]!.expiresAt).toBe(new Date(h.clock.now().getTime() + 7 * 24 * 3600 * 1000).toISOString());
    const [token] = await h.newTokens(e1);
    await h.newTokens(e2);
    const listed = await h.module.invitations.list(recruiter, interviewId);
    expect(listed.map((i) => i.sentAt)).toEqual([h.clock.now().toISOString(), h.clock.now().toISOString()]);
    expect(token).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    const [row] = await h.database.primary.select().from(invitations).where(eq(invitations.id, created[0]!.id));
    expect(row!.tokenHash).toBe(createHash('sha256').update(token!).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(token);
    const [session] = await h.database.primary
      .select()
      .from(interviewSessions)
      .where(eq(interviewSessions.id, created[0]!.sessionId!));
    expect(session).toMatchObject({ status: 'invited', interviewId });
    // The interview asks for insights; the organisation allows scored: the narrower wins.
    expect(session!.settings.emotionPolicy).toBe('insights');
    const [user] = await h.database.primary.select().from(users).where(eq(users.id, session!.candidateId));
    expect(user).toMatchObject({ role: 'candidate', name: 'Ann', email: e1 });
  });

  it('a link is single use: the second redemption is INVITATION_USED', async () => {
    const interviewId = await publishedInterview();
    const e = email();
    const [inv] = await h.module.invitations.invite(recruiter, interviewId, { candidates: [{ name: 'C', email: e }] });
    const [token] = await h.newTokens(e);
    const accepted = await h.module.invitations.accept({ token: token! });
    expect(accepted.sessionId).toBe(inv!.sessionId);
    expect(h.accounts.actors.get(accepted.tokens.accessToken)).toMatchObject({
      kind: 'candidate',
      sessionId: inv!.sessionId,
      orgId: recruiter.orgId,
    });
    await expect(h.module.invitations.accept({ token: token! })).rejects.toMatchObject({ code: 'INVITATION_USED' });
    const [listed] = await h.module.invitations.list(recruiter, interviewId);
    expect(listed!.status).toBe('accepted');
  });

  it('two concurrent redemptions of one link give one token pair', async () => {
    const interviewId = await publishedInterview();
    const e = email();
    await h.module.invitations.invite(recruiter, interviewId, { candidates: [{ name: 'C', email: e }] });
    const [token] = await h.newTokens(e);
    const results = await Promise.allSettled([
      h.module.invitations.accept({ token: token! }),
      h.module.invitations.accept({ token: token! }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'INVITATION_USED' } });
  });

  it('an expired link is INVITATION_EXPIRED; an unknown one NOT_FOUND', async () => {
    const interviewId = await publishedInterview();
    const e = email();
    await h.module.invitations.invite(recruiter, interviewId, {
      candidates: [{ name: 'C', email: e }],
      expiresInHours: 1,
    });
    const [token] = await h.newTokens(e);
    h.clock.advance(3600);
    await expect(h.module.invitations.accept({ token: token! })).rejects.toMatchObject({ code: 'INVITATION_EXPIRED' });
    await expect(h.module.invitations.accept({ token: 'x'.repeat(43) })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it("caps the link's validity at the interview deadline, and refuses redemption after it", async () => {
    const deadline = new Date(h.clock.now().getTime() + 2 * 3600 * 1000).toISOString();
    const interviewId = await publishedInterview(deadline);
    const e = email();
    const [inv] = await h.module.invitations.invite(recruiter, interviewId, { candidates: [{ name: 'C', email: e }] });
    expect(inv!.expiresAt).toBe(deadline);
    const [token] = await h.newTokens(e);
    h.clock.advance(2 * 3600);
    await expect(h.module.invitations.accept({ token: token! })).rejects.toMatchObject({ code: 'INVITATION_EXPIRED' });
    await expect(
      h.module.invitations.invite(recruiter, interviewId, { candidates: [{ name: 'D', email: email() }] }),
    ).rejects.toMatchObject({ code: 'DEADLINE_PASSED' });
  });

  it('resend issues a new link with a fresh validity and kills the old one', async () => {
    const interviewId = await publishedInterview();
    const e = email();
    const [inv] = await h.module.invitations.invite(recruiter, interviewId, {
      candidates: [{ name: 'C', email: e }],
      expiresInHours: 2,
    });
    const [oldToken] = await h.newTokens(e);
    h.clock.advance(3 * 3600);
    const resent = await h.module.invitations.resend(recruiter, inv!.id);
    expect(resent.status).toBe('pending');
    expect(resent.sentAt).toBeNull();
    expect(resent.expiresAt).toBe(new Date(h.clock.now().getTime() + 7 * 24 * 3600 * 1000).toISOString());
    // The old link stops working at once, before the new e-mail is sent.
    await expect(h.module.invitations.accept({ token: oldToken! })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const [newToken] = await h.newTokens(e);
    expect(newToken).toBeDefined();
    await expect(h.module.invitations.accept({ token: newToken! })).resolves.toMatchObject({
      sessionId: inv!.sessionId,
    });
    await expect(h.module.invitations.resend(recruiter, inv!.id)).rejects.toMatchObject({ code: 'INVITATION_USED' });
  });

  it('remind queues a new link with the same expiry; the job records when it was sent', async () => {
    const interviewId = await publishedInterview();
    const e = email();
    const [inv] = await h.module.invitations.invite(recruiter, interviewId, { candidates: [{ name: 'C', email: e }] });
    const [oldToken] = await h.newTokens(e);
    h.clock.advance(60);
    const reminded = await h.module.invitations.remind(recruiter, inv!.id);
    expect(reminded.expiresAt).toBe(inv!.expiresAt);
    expect(reminded.remindedAt).toBeNull();
    const [token] = await h.newTokens(e);
    const [listed] = await h.module.invitations.list(recruiter, interviewId);
    expect(listed!.remindedAt).toBe(h.clock.now().toISOString());
    // A second reminder is an e-mail of its own, not a duplicate of the first.
    await h.module.invitations.remind(recruiter, inv!.id);
    const [again] = await h.newTokens(e);
    expect(again).not.toBe(token);
    await expect(h.module.invitations.accept({ token: oldToken! })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(h.module.invitations.accept({ token: token! })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(h.module.invitations.accept({ token: again! })).resolves.toBeTruthy();
  });

  it('each e-mail request is one e-mail, keyed by ids only; the link token is minted by the job', async () => {
    const interviewId = await publishedInterview();
    const e = email();
    const [inv] = await h.module.invitations.invite(recruiter, interviewId, { candidates: [{ name: 'C', email: e }] });
    const [token] = await h.newTokens(e);
    const marks = await h.database.primary
      .select({ key: processedMessages.messageId })
      .from(processedMessages)
      .where(eq(processedMessages.consumer, 'notification.email'));
    const mark = marks.map((m) => m.key).find((k) => k.startsWith(`invitation:${inv!.id}:`));
    expect(mark).toMatch(/^invitation:[0-9a-f-]{36}:[0-9a-f-]{36}$/);
    expect(mark).not.toContain(token);
  });

  it('revoke kills the link and expires the session; a revoked invitation cannot be resent', async () => {
    const interviewId = await publishedInterview();
    const e = email();
    const [inv] = await h.module.invitations.invite(recruiter, interviewId, { candidates: [{ name: 'C', email: e }] });
    const [token] = await h.newTokens(e);
    const revoked = await h.module.invitations.revoke(recruiter, inv!.id);
    expect(revoked.status).toBe('revoked');
    await expect(h.module.invitations.accept({ token: token! })).rejects.toMatchObject({ code: 'INVITATION_EXPIRED' });
    const [session] = await h.database.primary
      .select()
      .from(interviewSessions)
      .where(eq(interviewSessions.id, inv!.sessionId!));
    expect(session!.status).toBe('expired');
    await expect(h.module.invitations.resend(recruiter, inv!.id)).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('refuses a second live invitation for the same e-mail, drafts, and other organisations', async () => {
    const interviewId = await publishedInterview();
    const e = email();
    await h.module.invitations.invite(recruiter, interviewId, { candidates: [{ name: 'C', email: e }] });
    await expect(
      h.module.invitations.invite(recruiter, interviewId, { candidates: [{ name: 'C', email: e.toUpperCase() }] }),
    ).rejects.toMatchObject({ code: 'ALREADY_EXISTS', details: { emails: [e] } });
    const draft = await h.module.interviews.create(recruiter, {
      title: 'Draft',
      description: '',
      settings: {
        language: 'en',
        deadline: null,
        emotionPolicy: 'off',
        weights: { answers: 1, emotion: 0, behavioral: 0 },
      },
      questions: [],
    });
    await expect(
      h.module.invitations.invite(recruiter, draft.id, { candidates: [{ name: 'C', email: email() }] }),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(
      h.module.invitations.invite(other, interviewId, { candidates: [{ name: 'C', email: email() }] }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const [inv] = await h.module.invitations.list(recruiter, interviewId);
    await expect(h.module.invitations.revoke(other, inv!.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(h.module.invitations.resend(other, inv!.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(h.module.invitations.list(other, interviewId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('candidate invitations while the message broker is down', () => {
  let down: Harness;
  let staff: StaffActor;
  let interviewId: string;

  beforeAll(async () => {
    down = await createHarness();
    ({ recruiter: staff } = await down.org('Acme'));
    const q = await down.module.questions.create(staff, questionBody());
    const interview = await down.module.interviews.create(staff, {
      title: 'Support engineer',
      description: '',
      settings: {
        language: 'en',
        deadline: null,
        emotionPolicy: 'off',
        weights: { answers: 1, emotion: 0, behavioral: 0 },
      },
      questions: [{ questionId: q.id, isPractice: false, prepSeconds: 10, retakesAllowed: 0 }],
    });
    await down.module.interviews.publish(staff, interview.id);
    interviewId = interview.id;
    // Publishing now fails with SERVICE_UNAVAILABLE, as it does when RabbitMQ cannot be reached.
    await down.broker.close();
  });
  afterAll(async () => down?.close());

  it('keeps each invitation and records that its e-mail was not queued, instead of "queued"', async () => {
    const created = await down.module.invitations.invite(staff, interviewId, {
      candidates: [
        { name: 'Ann', email: 'ann@example.test' },
        { name: 'Bob', email: 'bob@example.test' },
      ],
    });
    expect(created.map((i) => [i.status, i.sentAt, i.deliveryFailure])).toEqual([
      ['pending', null, expect.stringMatching(/^not queued/)],
      ['pending', null, expect.stringMatching(/^not queued/)],
    ]);
    expect(created[0]!.deliveryFailedAt).toBe(down.clock.now().toISOString());
    const listed = await down.module.invitations.list(staff, interviewId);
    expect(listed.map((i) => i.deliveryFailure)).toEqual(created.map((i) => i.deliveryFailure));
  });

  it('refuses a resend with SERVICE_UNAVAILABLE, and the invitation still says its e-mail was not queued', async () => {
    const [invitation] = await down.module.invitations.list(staff, interviewId);
    await expect(down.module.invitations.resend(staff, invitation!.id)).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
    });
    const [after] = (await down.module.invitations.list(staff, interviewId)).filter((i) => i.id === invitation!.id);
    expect(after).toMatchObject({ sentAt: null, deliveryFailure: expect.stringMatching(/^not queued/) });
  });
});

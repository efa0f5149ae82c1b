import { ZInterviewCompletedEvent, ZVideoUploadedEvent } from '@parley/contracts';
import { Readable } from 'node:stream';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interviewSessions, type SessionStatus } from '../infra/db/schema.ts';
import type { Actor, CandidateActor, StaffActor } from '../shared/actor.ts';
import { writingSessions } from './session-cache.ts';
import { canTransition, SESSION_STATUSES } from './session-state.ts';
import { createHarness, invitedSession, type Harness } from './testing.ts';

let h: Harness;
let recruiter: StaffActor;
let other: StaffActor;

beforeAll(async () => {
  h = await createHarness();
  ({ recruiter } = await h.org('Acme'));
  ({ recruiter: other } = await h.org('Globex'));
});
afterAll(async () => h.close());

const consentAll = { aiNotice: true as const, recording: true, videoAnalysis: true, textVersion: 'v1' };

async function started(options: Parameters<typeof invitedSession>[2] = {}) {
  const s = await invitedSession(h, recruiter, options);
  await h.module.sessions.consent(s.candidate, s.sessionId, consentAll);
  await h.module.sessions.start(s.candidate, s.sessionId);
  return s;
}

const recording = (bytes = 1024) => Readable.from([Buffer.alloc(bytes, 7)]);

/** Another writer's direct update, made as every writer of sessions must: fenced and invalidated. */
async function forceStatus(sessionId: string, status: SessionStatus) {
  await writingSessions(h.cache, [sessionId], () =>
    h.database.primary.update(interviewSessions).set({ status }).where(eq(interviewSessions.id, sessionId)),
  );
}

describe('session state machine (enforced by the service)', () => {
  /** The operation that asks for each target state. */
  const moves: Record<string, (s: { sessionId: string; candidate: CandidateActor }) => Promise<unknown>> = {
    consented: (s) => h.module.sessions.consent(s.candidate, s.sessionId, consentAll),
    in_progress: (s) => h.module.sessions.start(s.candidate, s.sessionId),
    completed: (s) => h.module.sessions.complete(s.candidate, s.sessionId),
    abandoned: (s) => h.module.sessions.abandon(s.candidate, s.sessionId),
    scoring: (s) => h.module.sessions.advanceScoring(recruiter.orgId, s.sessionId, 'scoring'),
    scored: (s) => h.module.sessions.advanceScoring(recruiter.orgId, s.sessionId, 'scored'),
    'completed (scoring retry)': (s) => h.module.sessions.advanceScoring(recruiter.orgId, s.sessionId, 'completed'),
  };
  const target = (name: string) => name.split(' ')[0] as SessionStatus;
  const cases = SESSION_STATUSES.flatMap((from) =>
    Object.keys(moves)
      .filter((name) => !canTransition(from, target(name)) || (name.includes('retry') && from !== 'scoring'))
      .map((name) => [from, name] as const),
  );

  it.each(cases)('a %s session refuses to become %s with ILLEGAL_TRANSITION', async (from, name) => {
    const s = await invitedSession(h, recruiter, { questions: 1 });
    await forceStatus(s.sessionId, from);
    await expect(moves[name]!(s)).rejects.toMatchObject({
      code: 'ILLEGAL_TRANSITION',
      details: { from, to: target(name) },
    });
    const [row] = await h.database.primary
      .select()
      .from(interviewSessions)
      .where(eq(interviewSessions.id, s.sessionId));
    expect(row!.status).toBe(from);
  });

  it('walks invited → consented → in_progress → completed → scoring → scored', async () => {
    const s = await invitedSession(h, recruiter, { questions: 1 });
    const seen: string[] = [];
    seen.push((await h.module.sessions.consent(s.candidate, s.sessionId, consentAll)).status);
    seen.push((await h.module.sessions.start(s.candidate, s.sessionId)).status);
    seen.push((await h.module.sessions.complete(s.candidate, s.sessionId)).status);
    await h.module.sessions.advanceScoring(recruiter.orgId, s.sessionId, 'scoring');
    seen.push((await h.module.sessions.view(recruiter, s.sessionId)).status);
    await h.module.sessions.advanceScoring(recruiter.orgId, s.sessionId, 'scored');
    seen.push((await h.module.sessions.view(recruiter, s.sessionId)).status);
    expect(seen).toEqual(['consented', 'in_progress', 'completed', 'scoring', 'scored']);
  });

  it('two racing starts: one wins, the other is ILLEGAL_TRANSITION', async () => {
    const s = await invitedSession(h, recruiter, { questions: 1 });
    await h.module.sessions.consent(s.candidate, s.sessionId, consentAll);
    const results = await Promise.allSettled([
      h.module.sessions.start(s.candidate, s.sessionId),
      h.module.sessions.start(s.candidate, s.sessionId),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'ILLEGAL_TRANSITION' } });
    expect(await h.module.sessions.answers(recruiter, s.sessionId)).toHaveLength(1);
  });

  it('a session past the interview deadline expires and refuses the candidate with DEADLINE_PASSED', async () => {
    const deadline = new Date(h.clock.now().getTime() + 3600_000).toISOString();
    const s = await invitedSession(h, recruiter, { deadline });
    h.clock.advance(3600);
    await expect(h.module.sessions.consent(s.candidate, s.sessionId, consentAll)).rejects.toMatchObject({
      code: 'DEADLINE_PASSED',
    });
    expect((await h.module.sessions.view(recruiter, s.sessionId)).status).toBe('expired');
  });
});

describe('consents', () => {
  it('records the AI notice, recording and video analysis consents separately', async () => {
    const s = await invitedSession(h, recruiter);
    const view = await h.module.sessions.consent(s.candidate, s.sessionId, { ...consentAll, videoAnalysis: false });
    expect(view.consents).toEqual({ aiNotice: true, recording: true, videoAnalysis: false });
    expect(await h.module.sessions.videoAnalysis(recruiter.orgId, s.sessionId)).toEqual({
      policy: 'insights',
      consented: false,
    });
  });

  it('without recording consent, answers are typed only (CONSENT_REQUIRED for uploads)', async () => {
    const s = await invitedSession(h, recruiter);
    await h.module.sessions.consent(s.candidate, s.sessionId, { ...consentAll, recording: false });
    await h.module.sessions.start(s.candidate, s.sessionId);
    await expect(
      h.module.sessions.uploadRecording(s.candidate, s.sessionId, 0, recording(), 'audio/webm'),
    ).rejects.toMatchObject({ code: 'CONSENT_REQUIRED' });
    await expect(h.module.sessions.submitText(s.candidate, s.sessionId, 0, 'typed')).resolves.toBeTruthy();
  });
});

describe('server-side timers', () => {
  it('opens the first question with a preparation timer and reports the remaining time on reload', async () => {
    const s = await started();
    h.clock.advance(10);
    const view = await h.module.sessions.view(s.candidate, s.sessionId);
    expect(view.current).toMatchObject({
      position: 0,
      attempt: 1,
      phase: 'preparing',
      prepRemainingMs: 20_000,
      answerRemainingMs: 80_000,
    });
    h.clock.advance(25);
    const later = await h.module.sessions.view(s.candidate, s.sessionId);
    expect(later.current).toMatchObject({ phase: 'answering', prepRemainingMs: 0, answerRemainingMs: 55_000 });
    expect(later.serverTime).toBe(h.clock.now().toISOString());
  });

  it('starting to answer early gives the full answer time from then', async () => {
    const s = await started();
    h.clock.advance(5);
    const view = await h.module.sessions.beginAnswer(s.candidate, s.sessionId, 0);
    expect(view.current).toMatchObject({ phase: 'answering', prepRemainingMs: 0, answerRemainingMs: 60_000 });
    h.clock.advance(61 + 3);
    await expect(h.module.sessions.submitText(s.candidate, s.sessionId, 0, 'late')).rejects.toMatchObject({
      code: 'TIME_LIMIT_EXCEEDED',
    });
  });

  it('takes an answer within the grace period and refuses one after it', async () => {
    const a = await started();
    h.clock.advance(30 + 60 + 3);
    await expect(h.module.sessions.submitText(a.candidate, a.sessionId, 0, 'just in time')).resolves.toMatchObject({
      current: { phase: 'submitted', hasText: true },
    });
    const b = await started();
    h.clock.advance(30 + 60 + 4);
    await expect(h.module.sessions.submitText(b.candidate, b.sessionId, 0, 'too late')).rejects.toMatchObject({
      code: 'TIME_LIMIT_EXCEEDED',
    });
    expect((await h.module.sessions.answers(b.candidate, b.sessionId))[0]!.textAnswer).toBeNull();
  });

  it('refuses an answer for a question other than the current one', async () => {
    const s = await started();
    await expect(h.module.sessions.submitText(s.candidate, s.sessionId, 1, 'ahead')).rejects.toMatchObject({
      code: 'CONFLICT',
    });
  });

  it('does not overwrite a given answer', async () => {
    const s = await started();
    await h.module.sessions.submitText(s.candidate, s.sessionId, 0, 'first');
    await expect(h.module.sessions.submitText(s.candidate, s.sessionId, 0, 'second')).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    expect((await h.module.sessions.answers(s.candidate, s.sessionId))[0]!.textAnswer).toBe('first');
  });
});

describe('retakes', () => {
  it('opens a new attempt with fresh timers, up to the allowance, keeping earlier attempts', async () => {
    const s = await started({ retakes: 1 });
    await h.module.sessions.submitText(s.candidate, s.sessionId, 0, 'attempt one');
    h.clock.advance(200);
    const view = await h.module.sessions.retake(s.candidate, s.sessionId, 0);
    expect(view.current).toMatchObject({ attempt: 2, phase: 'preparing', prepRemainingMs: 30_000, hasText: false });
    await h.module.sessions.submitText(s.candidate, s.sessionId, 0, 'attempt two');
    await expect(h.module.sessions.retake(s.candidate, s.sessionId, 0)).rejects.toMatchObject({
      code: 'RETAKES_EXHAUSTED',
    });
    const answers = await h.module.sessions.answers(recruiter, s.sessionId);
    expect(answers.map((a) => [a.position, a.attempt, a.textAnswer])).toEqual([
      [0, 1, 'attempt one'],
      [0, 2, 'attempt two'],
    ]);
  });

  it('no retake when none is allowed', async () => {
    const s = await started({ retakes: 0 });
    await expect(h.module.sessions.retake(s.candidate, s.sessionId, 0)).rejects.toMatchObject({
      code: 'RETAKES_EXHAUSTED',
    });
  });
});

describe('recordings', () => {
  it('stores the recording, attaches it to the attempt and announces interview.video.uploaded', async () => {
    const s = await started();
    const answer = await h.module.sessions.uploadRecording(
      s.candidate,
      s.sessionId,
      0,
      recording(2048),
      'audio/webm;codecs=opus',
    );
    expect(answer).toMatchObject({ position: 0, attempt: 1, mediaContentType: 'audio/webm' });
    expect(answer.submittedAt).toBe(h.clock.now().toISOString());
    const stored = await h.storage.get(answer.mediaKey!);
    expect(stored.bytes.length).toBe(2048);
    expect(stored.contentType).toBe('audio/webm');
    const messages = await h.published('video.processing');
    const event = messages.find((m) => ZVideoUploadedEvent.parse(m.payload).answerId === answer.id);
    expect(event?.payload).toMatchObject({ storageKey: answer.mediaKey, sizeBytes: 2048, videoAnalysis: true });
    await expect(
      h.module.sessions.uploadRecording(s.candidate, s.sessionId, 0, recording(), 'audio/webm'),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('a recording over the size limit leaves neither an object nor a half-answer', async () => {
    const s = await started();
    await expect(
      h.module.sessions.uploadRecording(s.candidate, s.sessionId, 0, recording(64 * 1024 + 1), 'video/webm'),
    ).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(await h.storage.list(`orgs/${recruiter.orgId}/sessions/${s.sessionId}/`)).toEqual([]);
    const [attempt] = await h.module.sessions.answers(s.candidate, s.sessionId);
    expect(attempt).toMatchObject({ mediaKey: null, submittedAt: null });
  });

  it('refuses a recording started after the deadline, and one of an unknown type', async () => {
    const s = await started();
    await expect(
      h.module.sessions.uploadRecording(s.candidate, s.sessionId, 0, recording(), 'application/zip'),
    ).rejects.toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    h.clock.advance(30 + 60 + 10);
    await expect(
      h.module.sessions.uploadRecording(s.candidate, s.sessionId, 0, recording(), 'audio/webm'),
    ).rejects.toMatchObject({ code: 'TIME_LIMIT_EXCEEDED' });
    expect(await h.storage.list(`orgs/${recruiter.orgId}/sessions/${s.sessionId}/`)).toEqual([]);
  });
});

describe('a whole interview', () => {
  it('practice, then each question in turn, then complete → interview.completed on the broker', async () => {
    const s = await started({ practice: true, questions: 2 });
    let view = await h.module.sessions.view(s.candidate, s.sessionId);
    expect(view.current).toMatchObject({ position: 0, isPractice: true });
    expect(view.questionCount).toBe(3);
    await h.module.sessions.submitText(s.candidate, s.sessionId, 0, 'warm-up');
    await expect(h.module.sessions.complete(s.candidate, s.sessionId)).rejects.toMatchObject({ code: 'CONFLICT' });
    view = await h.module.sessions.next(s.candidate, s.sessionId, 0);
    expect(view.current).toMatchObject({ position: 1, isPractice: false, text: 'Question 2', attempt: 1 });
    await expect(h.module.sessions.next(s.candidate, s.sessionId, 0)).rejects.toMatchObject({ code: 'CONFLICT' });
    await h.module.sessions.uploadRecording(s.candidate, s.sessionId, 1, recording(), 'audio/ogg');
    await h.module.sessions.next(s.candidate, s.sessionId, 1);
    await h.module.sessions.submitText(s.candidate, s.sessionId, 2, 'typed answer');
    await expect(h.module.sessions.next(s.candidate, s.sessionId, 2)).rejects.toMatchObject({ code: 'CONFLICT' });
    view = await h.module.sessions.complete(s.candidate, s.sessionId);
    expect(view).toMatchObject({ status: 'completed', current: null, completedAt: h.clock.now().toISOString() });

    const answers = await h.module.sessions.answers(recruiter, s.sessionId);
    expect(answers.map((a) => [a.position, a.isPractice, a.textAnswer !== null, a.mediaKey !== null])).toEqual([
      [0, true, true, false],
      [1, false, false, true],
      [2, false, true, false],
    ]);
    const completed = (await h.published('scoring.process')).filter(
      (m) => ZInterviewCompletedEvent.parse(m.payload).sessionId === s.sessionId,
    );
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({
      routingKey: 'interview.completed',
      messageId: `interview.completed:${s.sessionId}`,
      payload: { orgId: recruiter.orgId, interviewId: s.interviewId },
    });
    await expect(h.module.sessions.submitText(s.candidate, s.sessionId, 2, 'after the end')).rejects.toMatchObject({
      code: 'ILLEGAL_TRANSITION',
    });
  });

  it('answers keep the question version they were given under, after the question is edited', async () => {
    const s = await started({ questions: 1 });
    const interview = await h.module.interviews.get(recruiter, s.interviewId);
    const q = interview.questions[0]!;
    await h.module.questions.update(recruiter, q.questionId, { text: 'Edited after the interview began' });
    await h.module.sessions.submitText(s.candidate, s.sessionId, 0, 'answer');
    const [answer] = await h.module.sessions.answers(recruiter, s.sessionId);
    expect(answer!.questionVersionId).toBe(q.questionVersionId);
    expect((await h.module.sessions.view(s.candidate, s.sessionId)).current!.text).toBe(q.text);
  });
});

describe('access', () => {
  it("a candidate cannot see or act on another candidate's session (404)", async () => {
    const a = await started();
    const b = await started();
    const attempts: ((actor: Actor) => Promise<unknown>)[] = [
      (actor) => h.module.sessions.view(actor, b.sessionId),
      (actor) => h.module.sessions.answers(actor, b.sessionId),
      (actor) => h.module.sessions.submitText(actor, b.sessionId, 0, 'x'),
      (actor) => h.module.sessions.abandon(actor, b.sessionId),
      (actor) => h.module.sessions.complete(actor, b.sessionId),
    ];
    for (const attempt of attempts) await expect(attempt(a.candidate)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it("another organisation's recruiter gets 404; the organisation's own may look but not answer", async () => {
    const s = await started();
    await expect(h.module.sessions.view(other, s.sessionId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(h.module.sessions.answers(other, s.sessionId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(h.module.sessions.abandon(other, s.sessionId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await h.module.sessions.view(recruiter, s.sessionId)).status).toBe('in_progress');
    await expect(h.module.sessions.submitText(recruiter, s.sessionId, 0, 'x')).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(h.module.sessions.list(s.candidate, { limit: 10, offset: 0 })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
  });

  it('recruiters list their sessions by status and interview', async () => {
    const { recruiter: r } = await h.org('Listers');
    const a = await invitedSession(h, r, { email: 'ann@example.test' });
    const b = await invitedSession(h, r, { email: 'bob@example.test' });
    await h.module.sessions.consent(b.candidate, b.sessionId, consentAll);
    const all = await h.module.sessions.list(r, { limit: 50, offset: 0 });
    expect(all.map((x) => x.id).sort()).toEqual([a.sessionId, b.sessionId].sort());
    expect(await h.module.sessions.list(r, { status: 'consented', limit: 50, offset: 0 })).toMatchObject([
      { id: b.sessionId, candidateEmail: 'bob@example.test', interviewTitle: 'Backend engineer', status: 'consented' },
    ]);
    expect(
      (await h.module.sessions.list(r, { interviewId: a.interviewId, limit: 50, offset: 0 })).map((x) => x.id),
    ).toEqual([a.sessionId]);
    expect(await h.module.sessions.list(other, { interviewId: a.interviewId, limit: 50, offset: 0 })).toEqual([]);
  });
});

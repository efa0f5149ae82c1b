import {
  ZCandidateFeedback,
  ZErrorBody,
  ZLlmKey,
  ZReportRendering,
  ZSessionReport,
  type TSessionReport,
} from '@parley/contracts';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BrokerMessage } from '../infra/broker/broker.ts';
import type { StaffActor } from '../shared/actor.ts';
import { RENDER_REQUEST_AGAIN_AFTER_MS, RENDER_RETRY_AFTER_SECONDS, type AuditEntry } from './index.ts';
import { createScoringApp, type ScoringApp } from './testing/scoring-app.ts';
import {
  completedSession,
  createScoringHarness,
  type CompletedSession,
  type ScoringHarness,
} from './testing/scoring-harness.ts';

let h: ScoringHarness;
let t: ScoringApp;
let audit: AuditEntry[];
let recruiter: StaffActor;
let session: CompletedSession;

const XSS = 'I used <script>alert(1)</script> once, for example, to debug.';

beforeAll(async () => {
  h = await createScoringHarness();
  t = await createScoringApp(h);
  audit = t.audit;
  ({ recruiter } = await h.org('Acme'));
  const admin = await h.staff(recruiter.orgId, 'admin');
  const { recruiter: stranger } = await h.org('Globex');
  t.tokens.set('recruiter', recruiter);
  t.tokens.set('admin', admin);
  t.tokens.set('stranger', stranger);
  t.tokens.set('stranger-admin', await h.staff(stranger.orgId, 'admin'));

  session = await completedSession(h, recruiter, {
    questions: [{ answer: XSS }, { text: 'Never answered' }],
    emotionPolicy: 'insights',
  });
  t.tokens.set('candidate', session.candidate);
  await h.scored(session.sessionId);
});
afterAll(async () => {
  await t.close();
  await h.close();
});

const call: ScoringApp['call'] = (...args) => t.call(...args);
const code = (body: string) => ZErrorBody.parse(JSON.parse(body)).error.code;

describe('GET /api/sessions/:id/report', () => {
  it('gives staff of the organisation per-question scores with evidence, rationale and provenance', async () => {
    const res = await call('GET', `/api/sessions/${session.sessionId}/report`, 'recruiter');
    expect(res.statusCode).toBe(200);
    const report = ZSessionReport.parse(res.json());
    expect(report.status).toBe('scored');
    const [answered, blank] = report.questions;
    expect(answered).toMatchObject({ status: 'scored', transcript: XSS, transcriptSource: 'typed' });
    expect(answered!.criteria).toHaveLength(1);
    expect(answered!.criteria[0]!.rationale).toMatch(/\S/);
    for (const q of answered!.criteria[0]!.evidence) expect(XSS).toContain(q);
    expect(answered!.provenance).toMatchObject({ provider: 'offline', rubricVersion: expect.stringMatching(/@1$/) });
    expect(blank).toMatchObject({ status: 'not_answered', score: 0, note: 'Not answered.' });
    expect(report.overall).toBe(report.effectiveOverall);
    expect(report.overall).toBeCloseTo(answered!.score! / 2, 2);
    expect(report.provenance).toEqual([expect.objectContaining({ provider: 'offline' })]);
    expect(report.formulas.overall).toMatch(/weighted mean/);
    // The default rubric's only criterion, "Clarity", is a communication criterion: no technical part.
    expect(answered!.criteria[0]!.area).toBe('communication');
    expect(report.final).toMatchObject({ communication: report.overall, overall: report.overall });
    expect(report.final).not.toHaveProperty('technical');
    expect(report.final).not.toHaveProperty('emotion');
    expect(report.formulas.areas).toMatch(/clarity/);
  });

  it('is not found for another organisation, forbidden to the candidate and refused without a token', async () => {
    const url = `/api/sessions/${session.sessionId}/report`;
    const stranger = await call('GET', url, 'stranger');
    expect([stranger.statusCode, code(stranger.body)]).toEqual([404, 'NOT_FOUND']);
    expect((await call('GET', url, 'candidate')).statusCode).toBe(403);
    expect((await call('GET', url)).statusCode).toBe(401);
  });

  it('renders escaped, self-contained HTML', async () => {
    const res = await call('GET', `/api/sessions/${session.sessionId}/report/html`, 'recruiter');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(res.body).not.toContain('<script>');
    expect(res.body).toContain('Not answered.');
    expect(res.body).not.toMatch(/(src|href)="https?:/);
    expect((await call('GET', `/api/sessions/${session.sessionId}/report/html`, 'stranger')).statusCode).toBe(404);
  });
});

describe('POST /api/sessions/:id/scores/:scoreId/override', () => {
  it('keeps the original, records who overrode it and why, recomputes the totals and audits it', async () => {
    const before = ZSessionReport.parse(
      (await call('GET', `/api/sessions/${session.sessionId}/report`, 'recruiter')).json(),
    );
    const criterion = before.questions[0]!.criteria[0]!;
    const res = await call(
      'POST',
      `/api/sessions/${session.sessionId}/scores/${criterion.scoreId}/override`,
      'recruiter',
      { score: 5, reason: 'The example was strong in the follow-up call.' },
    );
    expect(res.statusCode).toBe(200);
    const after: TSessionReport = ZSessionReport.parse(res.json());
    const c = after.questions[0]!.criteria[0]!;
    expect(c).toMatchObject({ score: criterion.score, effectiveScore: 5 });
    expect(c.override).toMatchObject({
      score: 5,
      by: recruiter.userId,
      reason: 'The example was strong in the follow-up call.',
    });
    expect(after.questions[0]!.effectiveScore).toBe(5);
    expect(after.overall).toBe(before.overall);
    expect(after.effectiveOverall).toBe(2.5);
    expect(after.final).toMatchObject({ communication: 2.5, overall: 2.5 });
    expect(audit.at(-1)).toMatchObject({
      action: 'score.overridden',
      actorId: recruiter.userId,
      targetId: criterion.scoreId,
      metadata: { original: criterion.score, override: 5 },
    });
  });

  it('refuses a missing reason, an out-of-range score, an answer-level score and another organisation', async () => {
    const report = ZSessionReport.parse(
      (await call('GET', `/api/sessions/${session.sessionId}/report`, 'recruiter')).json(),
    );
    const url = `/api/sessions/${session.sessionId}/scores/${report.questions[0]!.criteria[0]!.scoreId}/override`;
    expect((await call('POST', url, 'recruiter', { score: 4 })).statusCode).toBe(400);
    expect((await call('POST', url, 'recruiter', { score: 6, reason: 'too high' })).statusCode).toBe(400);
    expect((await call('POST', url, 'stranger', { score: 4, reason: 'not mine' })).statusCode).toBe(404);
    expect((await call('POST', url, 'candidate', { score: 5, reason: 'I deserve it' })).statusCode).toBe(403);
  });
});

describe('/api/admin/llm-keys', () => {
  it('lets an admin add, list (masked), disable and delete keys; each change is audited', async () => {
    const key = 'sk-live-0123456789abcdefWXYZ';
    const added = await call('POST', '/api/admin/llm-keys', 'admin', { provider: 'openai', key, label: 'main' });
    expect(added.statusCode).toBe(201);
    const view = ZLlmKey.parse(added.json());
    expect(view).toMatchObject({ masked: '••••WXYZ', isActive: true, priority: 0 });
    expect(added.body).not.toContain('0123456789');

    const list = await call('GET', '/api/admin/llm-keys', 'admin');
    expect(list.json<{ keys: unknown[] }>().keys).toHaveLength(1);
    expect(list.body).not.toContain('0123456789');
    expect((await call('GET', '/api/admin/llm-keys', 'stranger-admin')).json<{ keys: unknown[] }>().keys).toEqual([]);

    const dup = await call('POST', '/api/admin/llm-keys', 'admin', { provider: 'openai', key });
    expect([dup.statusCode, code(dup.body)]).toEqual([409, 'ALREADY_EXISTS']);

    const disabled = await call('POST', `/api/admin/llm-keys/${view.id}/disable`, 'admin');
    expect(disabled.json<{ isActive: boolean }>().isActive).toBe(false);
    expect((await call('POST', `/api/admin/llm-keys/${view.id}/disable`, 'stranger-admin')).statusCode).toBe(404);
    expect((await call('DELETE', `/api/admin/llm-keys/${view.id}`, 'admin')).statusCode).toBe(204);
    expect((await call('DELETE', `/api/admin/llm-keys/${view.id}`, 'admin')).statusCode).toBe(404);
    expect(audit.filter((a) => a.targetId === view.id).map((a) => a.action)).toEqual([
      'llm_key.added',
      'llm_key.disabled',
      'llm_key.deleted',
    ]);
  });

  it('is for admins only', async () => {
    expect((await call('GET', '/api/admin/llm-keys', 'recruiter')).statusCode).toBe(403);
    expect(
      (await call('POST', '/api/admin/llm-keys', 'recruiter', { provider: 'openai', key: 'sk-123456789' })).statusCode,
    ).toBe(403);
    expect((await call('GET', '/api/admin/llm-keys', 'candidate')).statusCode).toBe(403);
    expect((await call('GET', '/api/admin/llm-keys')).statusCode).toBe(401);
  });
});

describe('GET /api/sessions/:id/report.pdf', () => {
  it('is for staff of the organisation only (printing is tested with the report job in the real tier)', async () => {
    const url = `/api/sessions/${session.sessionId}/report.pdf`;
    const stranger = await call('GET', url, 'stranger');
    expect([stranger.statusCode, code(stranger.body)]).toEqual([404, 'NOT_FOUND']);
    expect((await call('GET', url, 'candidate')).statusCode).toBe(403);
    expect((await call('GET', url)).statusCode).toBe(401);
  });

  /**
   * Records the print requests published from now on (the queue the report job takes). Request ids
   * end with the clock's time, so moving the clock on first tells them from earlier tests' requests.
   */
  async function printRequests() {
    h.clock.advance(1);
    const since = h.clock.now().getTime();
    const seen: BrokerMessage[] = [];
    const consumer = await h.broker.consume('report.rendering', async (m) => {
      if (m.routingKey === 'report.render.requested' && Number(m.messageId.split(':').at(-1)) >= since) seen.push(m);
    });
    return {
      seen,
      /** Waits for the request published at the clock's current time. */
      next: () =>
        vi.waitFor(() => {
          const id = `report:${session.sessionId}:${h.clock.now().getTime()}`;
          expect(seen.map((m) => m.messageId)).toContain(id);
        }),
      close: () => consumer.close(),
    };
  }

  it('never prints on the request: answers 202 with Retry-After and asks the workers, once per interval', async () => {
    const requests = await printRequests();
    try {
      const url = `/api/sessions/${session.sessionId}/report.pdf`;
      const first = await call('GET', url, 'recruiter');
      expect(first.statusCode).toBe(202);
      expect(first.headers['retry-after']).toBe(String(RENDER_RETRY_AFTER_SECONDS));
      expect(ZReportRendering.parse(first.json())).toMatchObject({
        status: 'rendering',
        retryAfterSeconds: RENDER_RETRY_AFTER_SECONDS,
      });
      await requests.next();

      // Polling while the print is pending publishes nothing more…
      h.clock.advance(1);
      expect((await call('GET', url, 'admin')).statusCode).toBe(202);
      // …until the request is old enough to have been lost.
      h.clock.advance(RENDER_REQUEST_AGAIN_AFTER_MS / 1000);
      expect((await call('GET', url, 'recruiter')).statusCode).toBe(202);
      await requests.next();
      expect(requests.seen.map((m) => m.payload)).toEqual([
        { orgId: recruiter.orgId, sessionId: session.sessionId },
        { orgId: recruiter.orgId, sessionId: session.sessionId },
      ]);
      expect(await h.storage.list(`orgs/${recruiter.orgId}/sessions/${session.sessionId}/reports/`)).toEqual([]);
    } finally {
      await requests.close();
    }
  });

  it('asks the workers to print the report again after a score override', async () => {
    const requests = await printRequests();
    try {
      const report = ZSessionReport.parse(
        (await call('GET', `/api/sessions/${session.sessionId}/report`, 'recruiter')).json(),
      );
      const criterion = report.questions[0]!.criteria[0]!;
      const res = await call(
        'POST',
        `/api/sessions/${session.sessionId}/scores/${criterion.scoreId}/override`,
        'recruiter',
        { score: 4, reason: 'Second look at the recording.' },
      );
      expect(res.statusCode).toBe(200);
      await requests.next();
    } finally {
      await requests.close();
    }
  });
});

describe('candidate feedback', () => {
  const url = () => `/api/sessions/${session.sessionId}/feedback`;

  it('is hidden from the candidate until a recruiter releases it; staff see it at any time', async () => {
    const early = await call('GET', url(), 'candidate');
    expect([early.statusCode, code(early.body)]).toEqual([409, 'CONFLICT']);
    expect(JSON.parse(early.body).error.details).toEqual({ reason: 'feedback_not_released' });

    const preview = await call('GET', url(), 'recruiter');
    expect(preview.statusCode).toBe(200);
    expect(ZCandidateFeedback.parse(preview.json()).releasedAt).toBeNull();
    expect(audit.some((a) => a.action === 'feedback.released')).toBe(false);
  });

  it('is released by staff of the organisation only, once, and audited', async () => {
    const release = `${url()}/release`;
    expect((await call('POST', release, 'candidate')).statusCode).toBe(403);
    expect((await call('POST', release, 'stranger')).statusCode).toBe(404);
    expect((await call('POST', release)).statusCode).toBe(401);

    const res = await call('POST', release, 'recruiter');
    expect(res.statusCode).toBe(200);
    const released = ZCandidateFeedback.parse(res.json());
    expect(released.releasedAt).not.toBeNull();
    const again = ZCandidateFeedback.parse((await call('POST', release, 'admin')).json());
    expect(again.releasedAt).toBe(released.releasedAt);
    expect(audit.filter((a) => a.action === 'feedback.released')).toEqual([
      expect.objectContaining({
        actorId: recruiter.userId,
        targetType: 'session',
        targetId: session.sessionId,
        metadata: { candidateId: session.candidate.userId },
      }),
    ]);
  });

  it('gives the candidate strengths and areas to grow, without a score', async () => {
    const res = await call('GET', url(), 'candidate');
    expect(res.statusCode).toBe(200);
    const feedback = ZCandidateFeedback.parse(res.json());
    const report = ZSessionReport.parse(
      (await call('GET', `/api/sessions/${session.sessionId}/report`, 'recruiter')).json(),
    );
    expect(feedback.strengths).toEqual(report.questions[0]!.strengths.filter((x) => feedback.strengths.includes(x)));
    expect(feedback.strengths.length + feedback.areasToGrow.length).toBeGreaterThan(0);
    expect(feedback.questions.map((q) => q.question)).toEqual(report.questions.map((q) => q.question));
    expect(feedback.questions[1]!.areasToGrow).toEqual(['This question was not answered.']);
    expect(feedback.areasToGrow).toContain('1 of 2 questions were not answered.');
    expect(res.body).not.toMatch(/"(score|overall|effectiveScore|weight)s?"/);
    for (const n of [report.overall, report.questions[0]!.score]) expect(res.body).not.toContain(String(n));
  });

  it('cannot be released before the session is scored, and no other candidate can read it', async () => {
    const pending = await completedSession(h, recruiter, { questions: [{ answer: 'Later.' }], complete: false });
    const res = await call('POST', `/api/sessions/${pending.sessionId}/feedback/release`, 'recruiter');
    expect([res.statusCode, code(res.body)]).toEqual([409, 'CONFLICT']);
    t.tokens.set('other-candidate', pending.candidate);
    const other = await call('GET', url(), 'other-candidate');
    expect([other.statusCode, code(other.body)]).toEqual([404, 'NOT_FOUND']);
  });
});

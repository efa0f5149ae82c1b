import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountsOf } from './roles/modules.ts';
import type { Deployment, Layout } from './shared/testing/layouts.ts';
import { waitForMail } from './shared/testing/outbox.ts';

/**
 * Every endpoint × every kind of caller. A caller outside the allowed set gets 401, 403 or 404
 * (or, for a list, its own organisation's empty list) and never a byte of another tenant's or
 * another candidate's data.
 */
type ActorName = 'anonymous' | 'candidate' | 'otherCandidate' | 'recruiter' | 'otherOrgRecruiter' | 'admin';
const ACTORS: ActorName[] = ['anonymous', 'candidate', 'otherCandidate', 'recruiter', 'otherOrgRecruiter', 'admin'];

const PASSWORD = 'correct horse battery';
const QUESTION_TEXT = 'Describe a production incident you led';
const SECRET_MARKERS = [QUESTION_TEXT, 'cand1@acme.test', 'cand2@acme.test', 'Acme Backend Interview'];

interface World {
  tokens: Record<ActorName, string | undefined>;
  questionId: string;
  interviewId: string;
  sessionId: string;
  otherSessionId: string;
  recruiterId: string;
  pendingInvitationId: string;
  /** The (accepted) staff invitation of the organisation's recruiter. */
  staffInvitationId: string;
  /** An answer with a recording, in the other candidate's session. */
  recordedAnswerId: string;
}

async function signIn(d: Deployment, email: string): Promise<string> {
  const res = await d.api.call('POST', '/api/auth/sign-in', { body: { email, password: PASSWORD } });
  expect(res.status).toBe(200);
  return res.body.accessToken;
}

/** The link in the newest mail to `to`, waiting for it: candidate invitations are sent by a job. */
async function tokenFromMail(d: Deployment, to: string, pattern: RegExp): Promise<string> {
  const mail = await waitForMail(
    () => d.outbox(),
    (m) => m.includes(to) && pattern.test(m),
  );
  const token = pattern.exec(mail)?.[1];
  if (!token) throw new Error(`no link for ${to}`);
  return token;
}

async function buildWorld(d: Deployment): Promise<World> {
  const admin = (
    await d.api.call('POST', '/api/auth/sign-up', {
      body: { orgName: 'Acme', name: 'Ada', email: 'ada@acme.test', password: PASSWORD },
    })
  ).body.accessToken as string;

  const staffInvitations: string[] = [];
  const inviteStaff = async (adminToken: string, email: string) => {
    const res = await d.api.call('POST', '/api/users/invitations', {
      token: adminToken,
      body: { email, name: email.split('@')[0], role: 'recruiter' },
    });
    expect(res.status).toBe(201);
    staffInvitations.push(res.body.id);
    const token = await tokenFromMail(d, email, /join\?token=([A-Za-z0-9_-]+)/);
    const accepted = await d.api.call('POST', '/api/auth/accept-invitation', { body: { token, password: PASSWORD } });
    expect(accepted.status).toBe(201);
    return accepted.body.accessToken as string;
  };
  const recruiter = await inviteStaff(admin, 'rita@acme.test');

  // A second organisation, made the way an operator would (the CLI's path).
  const container = d.processes.find((p) => p.role !== 'gateway')!.server.container;
  await (
    await accountsOf(container)
  ).service.createAdmin({ orgName: 'Beta', email: 'bob@beta.test', name: 'Bob', password: PASSWORD });
  const otherOrgRecruiter = await inviteStaff(await signIn(d, 'bob@beta.test'), 'olga@beta.test');

  const question = await d.api.call('POST', '/api/questions', {
    token: recruiter,
    body: {
      text: QUESTION_TEXT,
      category: 'engineering',
      difficulty: 3,
      tags: ['ops'],
      expectedSeconds: 90,
      rubric: {
        criteria: [
          { key: 'clarity', name: 'Clarity', weight: 1, anchors: { '1': 'Vague', '3': 'Clear', '5': 'Crisp' } },
        ],
        idealAnswer: 'Timeline, impact, fix, follow-up.',
        keyConcepts: ['postmortem'],
      },
    },
  });
  expect(question.status).toBe(201);
  const interview = await d.api.call('POST', '/api/interviews', {
    token: recruiter,
    body: { title: 'Acme Backend Interview', questions: [{ questionId: question.body.id, retakesAllowed: 1 }] },
  });
  expect(interview.status).toBe(201);
  expect((await d.api.call('POST', `/api/interviews/${interview.body.id}/publish`, { token: recruiter })).status).toBe(
    200,
  );
  const invited = await d.api.call('POST', `/api/interviews/${interview.body.id}/invitations`, {
    token: recruiter,
    body: {
      candidates: [
        { name: 'Cand One', email: 'cand1@acme.test' },
        { name: 'Cand Two', email: 'cand2@acme.test' },
        { name: 'Cand Three', email: 'cand3@acme.test' },
      ],
    },
  });
  expect(invited.status).toBe(201);
  const accept = async (email: string) => {
    const token = await tokenFromMail(d, email, /token=([A-Za-z0-9_-]+)/);
    const res = await d.api.call('POST', '/api/invitations/accept', { body: { token } });
    expect(res.status).toBe(200);
    return { sessionId: res.body.sessionId as string, token: res.body.tokens.accessToken as string };
  };
  const one = await accept('cand1@acme.test');
  const two = await accept('cand2@acme.test');
  // The second candidate records an answer, so the media routes have something to refuse or serve.
  const consented = await d.api.call('POST', `/api/sessions/${two.sessionId}/consent`, {
    token: two.token,
    body: { ...consent, recording: true },
  });
  expect(consented.status).toBe(200);
  expect((await d.api.call('POST', `/api/sessions/${two.sessionId}/start`, { token: two.token })).status).toBe(200);
  const recorded = await d.api.call('PUT', `/api/sessions/${two.sessionId}/answers/0/recording`, {
    token: two.token,
    body: 'recorded bytes of the other candidate',
    headers: { 'content-type': 'video/webm' },
  });
  expect(recorded.status).toBe(201);
  const users = await d.api.call('GET', '/api/users', { token: admin });
  return {
    tokens: {
      anonymous: undefined,
      candidate: one.token,
      otherCandidate: two.token,
      recruiter,
      otherOrgRecruiter,
      admin,
    },
    questionId: question.body.id,
    interviewId: interview.body.id,
    sessionId: one.sessionId,
    otherSessionId: two.sessionId,
    pendingInvitationId: invited.body.invitations.find((i: { email: string }) => i.email === 'cand3@acme.test').id,
    staffInvitationId: staffInvitations[0]!,
    recruiterId: users.body.users.find((u: { email: string }) => u.email === 'rita@acme.test').id,
    recordedAnswerId: recorded.body.id,
  };
}

interface Row {
  method: string;
  url: (w: World) => string;
  body?: (w: World) => unknown;
  allowed: ActorName[];
  headers?: Record<string, string>;
  /** Lists answer 200 with the caller's own (empty) view instead of refusing. */
  list?: boolean;
}

const STAFF: ActorName[] = ['recruiter', 'admin'];
const SESSION_READERS: ActorName[] = ['candidate', 'recruiter', 'admin'];
const consent = { aiNotice: true, recording: false, videoAnalysis: false, textVersion: 'v1' };

// Ordered so that state changes by allowed callers come after every refusal they could mask.
const ROWS: Row[] = [
  {
    method: 'GET',
    url: () => '/api/me',
    allowed: ['candidate', 'otherCandidate', 'recruiter', 'otherOrgRecruiter', 'admin'],
  },
  { method: 'GET', url: () => '/api/users', allowed: ['admin'] },
  { method: 'GET', url: () => '/api/audit', allowed: ['admin'] },
  { method: 'GET', url: () => '/api/admin/organization', allowed: ['admin'] },
  {
    method: 'PATCH',
    url: () => '/api/admin/organization',
    body: () => ({ retentionDays: 365 }),
    allowed: ['admin'],
  },
  {
    method: 'PATCH',
    url: (w) => `/api/users/${w.recruiterId}/role`,
    body: () => ({ role: 'recruiter' }),
    allowed: ['admin'],
  },
  {
    method: 'POST',
    url: () => '/api/users/invitations',
    body: () => ({ email: `new-${Math.random().toString(36).slice(2)}@acme.test`, name: 'New', role: 'recruiter' }),
    allowed: ['admin'],
  },
  { method: 'GET', url: () => '/api/users/invitations', allowed: ['admin'] },
  { method: 'POST', url: (w) => `/api/users/invitations/${w.staffInvitationId}/resend`, allowed: ['admin'] },
  { method: 'POST', url: (w) => `/api/users/invitations/${w.staffInvitationId}/revoke`, allowed: ['admin'] },
  { method: 'GET', url: () => '/api/questions', allowed: STAFF, list: true },
  {
    method: 'GET',
    url: () => `/api/questions?q=${encodeURIComponent('production incident')}`,
    allowed: STAFF,
    list: true,
  },
  { method: 'GET', url: (w) => `/api/questions/${w.questionId}`, allowed: STAFF },
  { method: 'GET', url: (w) => `/api/questions/${w.questionId}/versions`, allowed: STAFF },
  {
    method: 'PATCH',
    url: (w) => `/api/questions/${w.questionId}`,
    body: () => ({ tags: ['ops', 'incident'] }),
    allowed: STAFF,
  },
  { method: 'GET', url: () => '/api/interviews', allowed: STAFF, list: true },
  { method: 'GET', url: (w) => `/api/interviews/${w.interviewId}`, allowed: STAFF },
  { method: 'GET', url: (w) => `/api/interviews/${w.interviewId}/invitations`, allowed: STAFF },
  {
    method: 'PATCH',
    url: (w) => `/api/interviews/${w.interviewId}`,
    body: () => ({ description: 'Updated' }),
    allowed: STAFF,
  },
  { method: 'GET', url: () => '/api/sessions', allowed: STAFF, list: true },
  { method: 'GET', url: (w) => `/api/sessions?interviewId=${w.interviewId}`, allowed: STAFF, list: true },
  { method: 'GET', url: (w) => `/api/sessions/${w.sessionId}`, allowed: SESSION_READERS },
  { method: 'GET', url: (w) => `/api/sessions/${w.sessionId}/answers`, allowed: SESSION_READERS },
  { method: 'POST', url: (w) => `/api/sessions/${w.sessionId}/consent`, body: () => consent, allowed: ['candidate'] },
  { method: 'POST', url: (w) => `/api/sessions/${w.sessionId}/start`, allowed: ['candidate'] },
  {
    method: 'POST',
    url: (w) => `/api/sessions/${w.sessionId}/begin-answer`,
    body: () => ({ position: 0 }),
    allowed: ['candidate'],
  },
  {
    method: 'POST',
    url: (w) => `/api/sessions/${w.sessionId}/answers/text`,
    body: () => ({ position: 0, text: 'We rolled back, then wrote a postmortem.' }),
    allowed: ['candidate'],
  },
  {
    method: 'POST',
    url: (w) => `/api/sessions/${w.sessionId}/retake`,
    body: () => ({ position: 0 }),
    allowed: ['candidate'],
  },
  {
    method: 'POST',
    url: (w) => `/api/sessions/${w.sessionId}/next`,
    body: () => ({ position: 0 }),
    allowed: ['candidate'],
  },
  {
    method: 'PUT',
    url: (w) => `/api/sessions/${w.sessionId}/answers/0/recording`,
    body: () => 'not really a video, but bytes',
    headers: { 'content-type': 'video/webm' },
    allowed: ['candidate'],
  },
  { method: 'POST', url: (w) => `/api/sessions/${w.sessionId}/complete`, allowed: ['candidate'] },
  {
    method: 'POST',
    url: (w) => `/api/interviews/${w.interviewId}/invitations`,
    body: () => ({ candidates: [{ name: 'Late', email: `late-${Math.random().toString(36).slice(2)}@x.test` }] }),
    allowed: STAFF,
  },
  { method: 'POST', url: (w) => `/api/invitations/${w.pendingInvitationId}/resend`, allowed: STAFF },
  { method: 'POST', url: (w) => `/api/invitations/${w.pendingInvitationId}/remind`, allowed: STAFF },
  { method: 'POST', url: (w) => `/api/invitations/${w.pendingInvitationId}/revoke`, allowed: STAFF },
  { method: 'GET', url: (w) => `/api/sessions/${w.sessionId}/report`, allowed: STAFF },
  // Recording playback is for staff only, not even the session's own candidate.
  { method: 'GET', url: (w) => `/api/sessions/${w.otherSessionId}/recordings`, allowed: STAFF },
  { method: 'GET', url: (w) => `/api/answers/${w.recordedAnswerId}/recording`, allowed: STAFF },
  {
    method: 'GET',
    url: (w) => `/api/answers/${w.recordedAnswerId}/recording`,
    headers: { range: 'bytes=0-3' },
    allowed: STAFF,
  },
  { method: 'GET', url: (w) => `/api/sessions/${w.sessionId}/report/html`, allowed: STAFF },
  { method: 'GET', url: (w) => `/api/sessions/${w.sessionId}/report.pdf`, allowed: STAFF },
  { method: 'GET', url: (w) => `/api/sessions/${w.sessionId}/feedback`, allowed: ['candidate', 'recruiter', 'admin'] },
  { method: 'POST', url: (w) => `/api/sessions/${w.sessionId}/feedback/release`, allowed: STAFF },
  { method: 'GET', url: () => '/api/admin/llm-keys', allowed: ['admin'], list: true },
  {
    method: 'POST',
    url: () => '/api/admin/llm-keys',
    body: () => ({
      provider: 'openai',
      label: 'matrix',
      key: `sk-test-${Math.random().toString(36).slice(2)}xxxxxxxxxxxx`,
    }),
    allowed: ['admin'],
  },
  { method: 'POST', url: (w) => `/api/questions/${w.questionId}/archive`, allowed: STAFF },
  { method: 'POST', url: (w) => `/api/questions/${w.questionId}/restore`, allowed: STAFF },
  {
    method: 'POST',
    url: (w) => `/api/sessions/${w.otherSessionId}/abandon`,
    allowed: ['otherCandidate', 'recruiter', 'admin'],
  },
  { method: 'POST', url: (w) => `/api/interviews/${w.interviewId}/archive`, allowed: STAFF },
];

const REFUSED = [401, 403, 404];

export function authorizationMatrix(layouts: [string, Layout][]): void {
  describe.each(layouts)('authorisation matrix, %s: every endpoint × every kind of caller', (_layout, layout) => {
    let d: Deployment;
    let w: World;
    beforeAll(async () => {
      d = await layout();
      w = await buildWorld(d);
    });
    afterAll(async () => {
      await d.close();
    });

    it.each(ROWS.map((r) => [`${r.method} ${r.url(PLACEHOLDER)}`, r] as const))('%s', async (_name, row) => {
      const outcomes: string[] = [];
      const order = [
        ...ACTORS.filter((a) => !row.allowed.includes(a)),
        ...ACTORS.filter((a) => row.allowed.includes(a)),
      ];
      for (const actor of order) {
        const res = await d.api.call(row.method, row.url(w), {
          token: w.tokens[actor],
          body: row.body?.(w),
          headers: row.headers,
        });
        const text = JSON.stringify(res.body);
        if (row.allowed.includes(actor)) {
          if (REFUSED.includes(res.status)) outcomes.push(`${actor}: refused ${res.status} but should be allowed`);
          continue;
        }
        const ownEmptyList = row.list && res.status === 200;
        if (!REFUSED.includes(res.status) && !ownEmptyList)
          outcomes.push(`${actor}: got ${res.status}, expected a refusal`);
        for (const marker of SECRET_MARKERS) {
          if (text.includes(marker)) outcomes.push(`${actor}: response leaks "${marker}"`);
        }
        for (const id of [w.questionId, w.interviewId, w.sessionId, w.otherSessionId]) {
          if (ownEmptyList && text.includes(id)) outcomes.push(`${actor}: list leaks id ${id}`);
        }
      }
      expect(outcomes).toEqual([]);
    });
  });
}

const PLACEHOLDER: World = {
  tokens: { anonymous: undefined, candidate: '', otherCandidate: '', recruiter: '', otherOrgRecruiter: '', admin: '' },
  questionId: ':question',
  interviewId: ':interview',
  sessionId: ':session',
  otherSessionId: ':otherSession',
  recruiterId: ':user',
  pendingInvitationId: ':invitation',
  staffInvitationId: ':staffInvitation',
  recordedAnswerId: ':answer',
};

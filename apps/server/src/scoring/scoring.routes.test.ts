import { randomBytes } from 'node:crypto';
import { ZErrorBody, ZLlmKey, ZSessionReport, type TSessionReport } from '@parley/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCache } from '../infra/cache/memory-cache.ts';
import { createHttpServer, type HttpServer } from '../infra/http/http-server.ts';
import { Metrics } from '../infra/http/metrics.ts';
import { createLogger } from '../infra/log.ts';
import { ANONYMOUS, type Actor, type StaffActor } from '../shared/actor.ts';
import { createScoringModule, type AuditEntry, type ScoringModule } from './index.ts';
import { OfflineAnswerAnalyzer } from './offline/offline-scorer.ts';
import { UseLiteEmbedder } from './offline/sentence-embedder.ts';
import {
  completedSession,
  createScoringHarness,
  FAST_SCORING_QUEUE,
  type CompletedSession,
  type ScoringHarness,
} from './testing/scoring-harness.ts';

let h: ScoringHarness;
let app: HttpServer;
let scoring: ScoringModule;
const tokens = new Map<string, Actor>();
const audit: AuditEntry[] = [];
let recruiter: StaffActor;
let session: CompletedSession;

const XSS = 'I used <script>alert(1)</script> once, for example, to debug.';

beforeAll(async () => {
  h = await createScoringHarness();
  ({ recruiter } = await h.org('Acme'));
  const admin = await h.staff(recruiter.orgId, 'admin');
  const { recruiter: stranger } = await h.org('Globex');
  tokens.set('recruiter', recruiter);
  tokens.set('admin', admin);
  tokens.set('stranger', stranger);
  tokens.set('stranger-admin', await h.staff(stranger.orgId, 'admin'));

  scoring = createScoringModule({
    config: {
      llm: {
        providers: ['offline'],
        openai: { model: 'gpt-4o-mini' },
        anthropic: { model: 'claude' },
        timeoutMs: 5_000,
        secretsKey: randomBytes(32).toString('hex'),
      },
    },
    database: h.database,
    broker: h.broker,
    storage: h.storage,
    cache: new MemoryCache(),
    logger: createLogger({ level: 'silent' }),
    interviews: h.module.sessions,
    transcriber: null,
    audit: async (e) => {
      audit.push(e);
    },
    analyzer: new OfflineAnswerAnalyzer(new UseLiteEmbedder()),
    queue: FAST_SCORING_QUEUE,
    clock: h.clock.now,
  });
  app = await createHttpServer({
    logger: createLogger({ level: 'silent' }),
    metrics: new Metrics(),
    bodyLimitBytes: 1024 * 1024,
    corsOrigins: [],
    version: 'test',
    readiness: async () => ({ status: 'ready', roles: ['interview'], checks: [] }),
  });
  // Stands in for the accounts context's hook: bearer token → actor.
  const actors = new WeakMap<object, Actor>();
  app.decorateRequest('actor', {
    getter(this: object) {
      return actors.get(this) ?? ANONYMOUS;
    },
    setter(this: object, actor: Actor) {
      actors.set(this, actor);
    },
  });
  app.addHook('onRequest', async (request) => {
    const token = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
    request.actor = (token && tokens.get(token)) || ANONYMOUS;
  });
  scoring.registerRoutes(app);
  await app.ready();
  await scoring.startConsumer();

  session = await completedSession(h, recruiter, {
    questions: [{ answer: XSS }, { text: 'Never answered' }],
    emotionPolicy: 'insights',
  });
  tokens.set('candidate', session.candidate);
  await h.scored(session.sessionId);
});
afterAll(async () => {
  await scoring.stop();
  await app.close();
  await h.close();
});

const call = (method: 'GET' | 'POST' | 'DELETE', url: string, token?: string, payload?: unknown) =>
  app.inject({ method, url, headers: token ? { authorization: `Bearer ${token}` } : {}, payload: payload as object });
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

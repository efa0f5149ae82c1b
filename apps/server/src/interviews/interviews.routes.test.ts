import { bearerToken } from '../accounts/index.ts';
import { ZErrorBody, ZQuestion, ZSessionView } from '@parley/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../infra/http/http-server.ts';
import { Metrics } from '../infra/http/metrics.ts';
import { resolveRequestActors } from '../infra/http/request-actor.ts';
import { createLogger } from '../infra/log.ts';
import { ANONYMOUS, type StaffActor } from '../shared/actor.ts';
import { createHarness, questionBody, type Harness } from './testing.ts';

let h: Harness;
let app: HttpServer;
let recruiter: StaffActor;
let other: StaffActor;
const staffTokens = new Map<string, StaffActor>();

/** Stands in for the accounts context's hook: bearer token → actor. */
function installTestAuthentication(server: HttpServer): void {
  resolveRequestActors(server, async (request) => {
    const token = bearerToken(request.headers, request.url);
    return (token && (staffTokens.get(token) ?? h.accounts.actors.get(token))) || ANONYMOUS;
  });
}

beforeAll(async () => {
  h = await createHarness();
  ({ recruiter } = await h.org('Acme'));
  ({ recruiter: other } = await h.org('Globex'));
  staffTokens.set('acme', recruiter);
  staffTokens.set('globex', other);
  app = await createHttpServer({
    logger: createLogger({ level: 'silent' }),
    metrics: new Metrics(),
    bodyLimitBytes: 1024 * 1024,
    corsOrigins: [],
    version: 'test',
    readiness: async () => ({ status: 'ready', roles: ['interview'], checks: [] }),
  });
  installTestAuthentication(app);
  await h.module.registerRoutes(app);
  await app.ready();
});
afterAll(async () => {
  await app.close();
  await h.close();
});

const auth = (token: string) => ({ authorization: `Bearer ${token}` });
const errorCode = (body: string) => ZErrorBody.parse(JSON.parse(body)).error.code;

async function createQuestion(token = 'acme') {
  const res = await app.inject({
    method: 'POST',
    url: '/api/questions',
    headers: auth(token),
    payload: questionBody(),
  });
  expect(res.statusCode).toBe(201);
  return ZQuestion.parse(res.json());
}

/** Question → published interview → invitation → redeemed link, all over HTTP. */
async function candidateOverHttp() {
  const q = await createQuestion();
  const created = await app.inject({
    method: 'POST',
    url: '/api/interviews',
    headers: auth('acme'),
    payload: { title: 'Over HTTP', questions: [{ questionId: q.id, prepSeconds: 5, answerSeconds: 30 }] },
  });
  expect(created.statusCode).toBe(201);
  const interviewId = created.json<{ id: string }>().id;
  expect(
    (await app.inject({ method: 'POST', url: `/api/interviews/${interviewId}/publish`, headers: auth('acme') }))
      .statusCode,
  ).toBe(200);
  const email = `http-${Math.random().toString(36).slice(2)}@example.test`;
  const invited = await app.inject({
    method: 'POST',
    url: `/api/interviews/${interviewId}/invitations`,
    headers: auth('acme'),
    payload: { candidates: [{ name: 'Hattie', email }] },
  });
  expect(invited.statusCode).toBe(201);
  const [token] = await h.newTokens(email);
  const accepted = await app.inject({ method: 'POST', url: '/api/invitations/accept', payload: { token } });
  expect(accepted.statusCode).toBe(200);
  const body = accepted.json<{ sessionId: string; tokens: { accessToken: string } }>();
  return { interviewId, sessionId: body.sessionId, access: body.tokens.accessToken, token: token! };
}

describe('interviews HTTP API', () => {
  it('creates and searches questions', async () => {
    const q = await createQuestion();
    const res = await app.inject({
      method: 'GET',
      url: '/api/questions?q=HARD%20BUG&tag=debugging',
      headers: auth('acme'),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json<{ questions: { id: string }[] }>().questions.map((x) => x.id)).toContain(q.id);
  });

  it('answers bad input with a 400 and VALIDATION_FAILED', async () => {
    const noAnchor = questionBody();
    delete (noAnchor.rubric.criteria[0]!.anchors as Record<string, string>)['3'];
    const cases = [
      app.inject({ method: 'POST', url: '/api/questions', headers: auth('acme'), payload: noAnchor }),
      app.inject({
        method: 'POST',
        url: '/api/questions',
        headers: auth('acme'),
        payload: { ...questionBody(), extra: 1 },
      }),
      app.inject({ method: 'GET', url: '/api/questions/not-a-uuid', headers: auth('acme') }),
      app.inject({ method: 'GET', url: '/api/questions?limit=0', headers: auth('acme') }),
      app.inject({ method: 'POST', url: '/api/invitations/accept', payload: { token: 'short' } }),
      app.inject({
        method: 'POST',
        url: '/api/interviews',
        headers: auth('acme'),
        payload: { title: 'x', settings: { emotionPolicy: 'always' } },
      }),
    ];
    for (const res of await Promise.all(cases)) {
      expect(res.statusCode).toBe(400);
      expect(errorCode(res.body)).toBe('VALIDATION_FAILED');
    }
  });

  it('needs a signed-in recruiter: 401 anonymous, 403 candidate, 404 across organisations', async () => {
    const q = await createQuestion();
    const anon = await app.inject({ method: 'GET', url: '/api/questions' });
    expect([anon.statusCode, errorCode(anon.body)]).toEqual([401, 'UNAUTHENTICATED']);
    const { access } = await candidateOverHttp();
    const asCandidate = await app.inject({ method: 'GET', url: '/api/questions', headers: auth(access) });
    expect([asCandidate.statusCode, errorCode(asCandidate.body)]).toEqual([403, 'FORBIDDEN']);
    const foreign = await app.inject({ method: 'GET', url: `/api/questions/${q.id}`, headers: auth('globex') });
    expect([foreign.statusCode, errorCode(foreign.body)]).toEqual([404, 'NOT_FOUND']);
  });

  it('redeeming a link twice is 410 INVITATION_USED', async () => {
    const { token } = await candidateOverHttp();
    const again = await app.inject({ method: 'POST', url: '/api/invitations/accept', payload: { token } });
    expect([again.statusCode, errorCode(again.body)]).toEqual([410, 'INVITATION_USED']);
  });

  it('runs a session: consent, start, upload a recording, complete; illegal moves are 409', async () => {
    const { sessionId, access } = await candidateOverHttp();
    const post = (url: string, payload?: object) =>
      app.inject({
        method: 'POST',
        url: `/api/sessions/${sessionId}${url}`,
        headers: auth(access),
        ...(payload ? { payload } : {}),
      });

    const early = await post('/start');
    expect([early.statusCode, errorCode(early.body)]).toEqual([409, 'ILLEGAL_TRANSITION']);
    const noNotice = await post('/consent', {
      aiNotice: false,
      recording: true,
      videoAnalysis: false,
      textVersion: 'v1',
    });
    expect(noNotice.statusCode).toBe(400);
    expect(
      (await post('/consent', { aiNotice: true, recording: true, videoAnalysis: false, textVersion: 'v1' })).statusCode,
    ).toBe(200);
    const started = ZSessionView.parse((await post('/start')).json());
    expect(started.current).toMatchObject({ position: 0, phase: 'preparing', prepRemainingMs: 5000 });

    const upload = await app.inject({
      method: 'PUT',
      url: `/api/sessions/${sessionId}/answers/0/recording`,
      headers: { ...auth(access), 'content-type': 'audio/webm' },
      payload: Buffer.alloc(4096, 1),
    });
    expect(upload.statusCode).toBe(201);
    expect(upload.json()).toMatchObject({ position: 0, attempt: 1, mediaContentType: 'audio/webm' });
    const wrongType = await app.inject({
      method: 'PUT',
      url: `/api/sessions/${sessionId}/answers/0/recording`,
      headers: { ...auth(access), 'content-type': 'application/json' },
      payload: '{}',
    });
    expect([wrongType.statusCode, errorCode(wrongType.body)]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    const tooBig = await app.inject({
      method: 'PUT',
      url: `/api/sessions/${sessionId}/answers/0/recording`,
      headers: { ...auth(access), 'content-type': 'video/webm' },
      payload: Buffer.alloc(64 * 1024 + 1),
    });
    expect([tooBig.statusCode, errorCode(tooBig.body)]).toEqual([413, 'PAYLOAD_TOO_LARGE']);

    const view = await app.inject({ method: 'GET', url: `/api/sessions/${sessionId}`, headers: auth(access) });
    expect(ZSessionView.parse(view.json()).current).toMatchObject({ phase: 'submitted', hasRecording: true });
    expect((await post('/complete')).statusCode).toBe(200);
    const twice = await post('/complete');
    expect([twice.statusCode, errorCode(twice.body)]).toEqual([409, 'ILLEGAL_TRANSITION']);
  });

  it("a candidate's token reaches only its own session; recruiters list by status", async () => {
    const a = await candidateOverHttp();
    const b = await candidateOverHttp();
    const cross = await app.inject({ method: 'GET', url: `/api/sessions/${b.sessionId}`, headers: auth(a.access) });
    expect([cross.statusCode, errorCode(cross.body)]).toEqual([404, 'NOT_FOUND']);
    const foreign = await app.inject({ method: 'GET', url: `/api/sessions/${a.sessionId}`, headers: auth('globex') });
    expect(foreign.statusCode).toBe(404);
    const list = await app.inject({
      method: 'GET',
      url: `/api/sessions?status=invited&interviewId=${a.interviewId}`,
      headers: auth('acme'),
    });
    expect(list.statusCode).toBe(200);
    expect(list.json<{ sessions: { id: string }[] }>().sessions.map((s) => s.id)).toEqual([a.sessionId]);
    const badFilter = await app.inject({ method: 'GET', url: '/api/sessions?status=done', headers: auth('acme') });
    expect([badFilter.statusCode, errorCode(badFilter.body)]).toEqual([400, 'VALIDATION_FAILED']);
  });

  it('documents every route in the OpenAPI document', async () => {
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const paths = Object.keys(res.json<{ paths: Record<string, unknown> }>().paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/api/questions',
        '/api/questions/{id}/versions',
        '/api/interviews/{id}/invitations',
        '/api/invitations/accept',
        '/api/sessions/{id}/answers/{position}/recording',
      ]),
    );
  });
});

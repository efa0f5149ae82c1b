import type { TTokenPair } from '@parley/contracts';
import { describe, expect, it } from 'vitest';
import { ApiClient, type UploadTransport } from './api-client.ts';
import { ApiError } from './errors.ts';
import { MemoryTokenStore, WebStorageTokenStore } from './token-store.ts';

const NOW = Date.parse('2030-01-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const USER_ID = '11111111-1111-4111-8111-111111111111';
const ORG_ID = '22222222-2222-4222-8222-222222222222';

function pair(n: number, accessExpiresInMs = 15 * 60_000): TTokenPair {
  return {
    accessToken: `access-${n}`,
    accessTokenExpiresAt: iso(NOW + accessExpiresInMs),
    refreshToken: `refresh-${n}`,
    refreshTokenExpiresAt: iso(NOW + 7 * 86_400_000),
  };
}

const user = {
  id: USER_ID,
  orgId: ORG_ID,
  email: 'ada@example.com',
  name: 'Ada',
  role: 'recruiter',
  createdAt: iso(NOW),
};

interface Call {
  method: string;
  url: string;
  auth: string | null;
  body: unknown;
}
type Handler = (call: Call) => { status: number; body?: unknown } | Promise<{ status: number; body?: unknown }>;

/** A fetch that answers from route handlers and records every call. */
function fakeServer(routes: Record<string, Handler>) {
  const calls: Call[] = [];
  const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    const call: Call = {
      method: init?.method ?? 'GET',
      url: input instanceof Request ? input.url : input instanceof URL ? input.href : input,
      auth: headers.get('authorization'),
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
    };
    calls.push(call);
    const handler = routes[`${call.method} ${call.url.split('?')[0]}`];
    if (!handler) return Response.json({ error: { code: 'NOT_FOUND', message: 'no route' } }, { status: 404 });
    const { status, body } = await handler(call);
    return status === 204 ? new Response(null, { status }) : Response.json(body, { status });
  }) as typeof fetch;
  return { calls, fetchImpl };
}

const expired = (code = 'TOKEN_EXPIRED') => ({ status: 401, body: { error: { code, message: 'expired' } } });

function client(routes: Record<string, Handler>, tokens: TTokenPair | null = pair(1)) {
  const server = fakeServer(routes);
  const store = new MemoryTokenStore(tokens);
  const signedOut: ApiError[] = [];
  const api = new ApiClient({
    fetch: server.fetchImpl,
    tokens: store,
    now: () => NOW,
    onSignedOut: (e) => signedOut.push(e),
  });
  return { api, store, calls: server.calls, signedOut };
}

describe('ApiClient', () => {
  it('sends the access token and parses the answer with the contract schema', async () => {
    const { api, calls } = client({ 'GET /api/me': () => ({ status: 200, body: user }) });
    await expect(api.me()).resolves.toMatchObject({ email: 'ada@example.com', role: 'recruiter' });
    expect(calls[0]!.auth).toBe('Bearer access-1');
  });

  it('rejects an answer that does not match the contract as BAD_RESPONSE', async () => {
    const { api } = client({ 'GET /api/me': () => ({ status: 200, body: { ...user, role: 'emperor' } }) });
    await expect(api.me()).rejects.toMatchObject({ code: 'BAD_RESPONSE' });
  });

  it('turns an error body into an ApiError with its code', async () => {
    const { api } = client({
      'POST /api/auth/sign-in': () => ({
        status: 401,
        body: { error: { code: 'INVALID_CREDENTIALS', message: 'no' } },
      }),
    });
    await expect(api.signIn('a@b.co', 'wrong')).rejects.toMatchObject({ code: 'INVALID_CREDENTIALS', status: 401 });
  });

  it('stores the tokens of a sign-in and forgets them on sign-out, revoking the family', async () => {
    const { api, store, calls } = client(
      {
        'POST /api/auth/sign-in': () => ({ status: 200, body: pair(7) }),
        'POST /api/auth/sign-out': () => ({ status: 204 }),
      },
      null,
    );
    await api.signIn('ada@example.com', 'correct horse battery');
    expect(store.get()?.accessToken).toBe('access-7');
    await api.signOut();
    expect(store.get()).toBeNull();
    expect(calls.at(-1)).toMatchObject({ url: '/api/auth/sign-out', body: { refreshToken: 'refresh-7' } });
  });

  it('refreshes an access token about to expire before using it, and keeps the rotated pair', async () => {
    const { api, store, calls } = client(
      {
        'POST /api/auth/refresh': (c) => {
          expect(c.body).toEqual({ refreshToken: 'refresh-1' });
          return { status: 200, body: pair(2) };
        },
        'GET /api/me': () => ({ status: 200, body: user }),
      },
      pair(1, 10_000),
    );
    await api.me();
    expect(calls.map((c) => c.url)).toEqual(['/api/auth/refresh', '/api/me']);
    expect(calls[1]!.auth).toBe('Bearer access-2');
    expect(store.get()?.refreshToken).toBe('refresh-2');
  });

  it('shares one refresh between concurrent requests (a second use of the old token would be reuse)', async () => {
    let refreshes = 0;
    const { api } = client(
      {
        'POST /api/auth/refresh': async () => {
          refreshes++;
          await new Promise((r) => setTimeout(r, 5));
          return { status: 200, body: pair(2) };
        },
        'GET /api/me': () => ({ status: 200, body: user }),
      },
      pair(1, 0),
    );
    await Promise.all([api.me(), api.me(), api.me()]);
    expect(refreshes).toBe(1);
  });

  it('refreshes once and retries after a 401 for an expired token', async () => {
    let first = true;
    const { api, calls } = client({
      'POST /api/auth/refresh': () => ({ status: 200, body: pair(2) }),
      'GET /api/me': (c) => {
        if (first) {
          first = false;
          return expired();
        }
        expect(c.auth).toBe('Bearer access-2');
        return { status: 200, body: user };
      },
    });
    await expect(api.me()).resolves.toMatchObject({ id: USER_ID });
    expect(calls.map((c) => c.url)).toEqual(['/api/me', '/api/auth/refresh', '/api/me']);
  });

  it('signs out when the refresh token is refused (reuse detected)', async () => {
    const { api, store, signedOut } = client({
      'POST /api/auth/refresh': () => expired('TOKEN_REUSED'),
      'GET /api/me': () => expired(),
    });
    await expect(api.me()).rejects.toMatchObject({ code: 'TOKEN_REUSED' });
    expect(store.get()).toBeNull();
    expect(signedOut.map((e) => e.code)).toEqual(['TOKEN_REUSED']);
  });

  it('keeps the sign-in when the network fails, and says so with NETWORK_ERROR', async () => {
    const store = new MemoryTokenStore(pair(1));
    const api = new ApiClient({
      fetch: () => Promise.reject(new TypeError('Failed to fetch')),
      tokens: store,
      now: () => NOW,
    });
    await expect(api.me()).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
    expect(store.get()).not.toBeNull();
  });

  it('uses the pair another tab already rotated instead of refreshing the old one again', async () => {
    const data = new Map<string, string>();
    const storage = {
      getItem: (k: string) => data.get(k) ?? null,
      setItem: (k: string, v: string) => void data.set(k, v),
      removeItem: (k: string) => void data.delete(k),
    };
    const tabA = new WebStorageTokenStore(storage, 'parley.staff');
    tabA.set(pair(1, 0));
    let refreshes = 0;
    const server = fakeServer({
      'POST /api/auth/refresh': () => {
        refreshes++;
        // While this tab waits, the other tab's rotation lands in storage.
        return { status: 200, body: pair(2) };
      },
      'GET /api/me': () => ({ status: 200, body: user }),
    });
    const api = new ApiClient({ fetch: server.fetchImpl, tokens: tabA, now: () => NOW });
    // The other tab rotated first.
    storage.setItem('parley.staff', JSON.stringify(pair(3)));
    await api.me();
    expect(refreshes).toBe(0);
    expect(server.calls[0]!.auth).toBe('Bearer access-3');
  });

  it('leaves empty filters out of the query string', async () => {
    const { api, calls } = client({ 'GET /api/sessions': () => ({ status: 200, body: { sessions: [] } }) });
    await api.listSessions({ status: 'completed', interviewId: undefined });
    expect(calls[0]!.url).toBe('/api/sessions?status=completed');
  });

  it('uploads a recording with progress and refreshes the token once on a 401', async () => {
    const answer = {
      id: USER_ID,
      position: 0,
      attempt: 1,
      isPractice: false,
      questionVersionId: ORG_ID,
      textAnswer: null,
      mediaKey: 'k',
      mediaContentType: 'video/webm',
      transcript: null,
      transcriptSource: null,
      submittedAt: iso(NOW),
    };
    const seen: string[] = [];
    const progress: number[] = [];
    const upload: UploadTransport = async (req) => {
      seen.push(`${req.headers.authorization} ${req.headers['content-type']}`);
      if (req.headers.authorization === 'Bearer access-1') return expired();
      req.onProgress?.(5, 10);
      req.onProgress?.(10, 10);
      return { status: 201, body: answer };
    };
    const server = fakeServer({ 'POST /api/auth/refresh': () => ({ status: 200, body: pair(2) }) });
    const api = new ApiClient({
      fetch: server.fetchImpl,
      tokens: new MemoryTokenStore(pair(1)),
      upload,
      now: () => NOW,
    });
    const blob = new Blob([new Uint8Array(10)], { type: 'video/webm;codecs=vp8,opus' });
    const saved = await api.uploadRecording('s1', 0, blob, { onProgress: (l, t) => progress.push(l / t) });
    expect(saved.mediaKey).toBe('k');
    expect(seen).toEqual(['Bearer access-1 video/webm;codecs=vp8,opus', 'Bearer access-2 video/webm;codecs=vp8,opus']);
    expect(progress).toEqual([0.5, 1]);
  });

  it('reports an upload refused for time as TIME_LIMIT_EXCEEDED, not retryable', async () => {
    const upload: UploadTransport = async () => ({
      status: 409,
      body: { error: { code: 'TIME_LIMIT_EXCEEDED', message: 'over' } },
    });
    const api = new ApiClient({
      fetch: fakeServer({}).fetchImpl,
      tokens: new MemoryTokenStore(pair(1)),
      upload,
      now: () => NOW,
    });
    const error = await api.uploadRecording('s1', 0, new Blob(['x'], { type: 'video/webm' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe('TIME_LIMIT_EXCEEDED');
    expect((error as ApiError).retryable).toBe(false);
  });

  it("answers null for the candidate's feedback until it is released, and the feedback after", async () => {
    const sessionId = '33333333-3333-4333-8333-333333333333';
    const url = `GET /api/sessions/${sessionId}/feedback`;
    const notYet = client({
      [url]: () => ({
        status: 409,
        body: { error: { code: 'CONFLICT', message: 'not yet', details: { reason: 'feedback_not_released' } } },
      }),
    });
    await expect(notYet.api.releasedFeedback(sessionId)).resolves.toBeNull();

    const otherConflict = client({
      [url]: () => ({ status: 409, body: { error: { code: 'CONFLICT', message: 'x' } } }),
    });
    await expect(otherConflict.api.releasedFeedback(sessionId)).rejects.toMatchObject({ code: 'CONFLICT' });

    const feedback = {
      sessionId,
      interviewTitle: 'Backend',
      releasedAt: iso(NOW),
      strengths: ['Clear structure'],
      areasToGrow: ['Quantify impact'],
      questions: [],
    };
    const released = client({ [url]: () => ({ status: 200, body: feedback }) });
    await expect(released.api.releasedFeedback(sessionId)).resolves.toEqual(feedback);
  });

  it('stores the candidate tokens from an accepted invitation', async () => {
    const { api, store } = client(
      {
        'POST /api/invitations/accept': (c) => {
          expect(c.auth).toBeNull();
          return { status: 200, body: { sessionId: USER_ID, tokens: pair(9) } };
        },
      },
      null,
    );
    await expect(api.acceptCandidateInvitation('x'.repeat(43))).resolves.toEqual({ sessionId: USER_ID });
    expect(store.get()?.accessToken).toBe('access-9');
  });
});

describe('ApiClient uploads that fail on the way', () => {
  it('reports a dropped connection as a retryable NETWORK_ERROR and a cancel as ABORTED', async () => {
    const make = (upload: UploadTransport) =>
      new ApiClient({ fetch: fakeServer({}).fetchImpl, tokens: new MemoryTokenStore(pair(1)), upload, now: () => NOW });
    const blob = new Blob(['x'], { type: 'video/webm' });
    const dropped = await make(() => Promise.reject(new Error('network error during upload')))
      .uploadRecording('s', 0, blob)
      .catch((e: unknown) => e as ApiError);
    expect(dropped).toMatchObject({ code: 'NETWORK_ERROR' });
    expect((dropped as ApiError).retryable).toBe(true);
    const aborted = await make(() => Promise.reject(new DOMException('upload aborted', 'AbortError')))
      .uploadRecording('s', 0, blob)
      .catch((e: unknown) => e as ApiError);
    expect(aborted).toMatchObject({ code: 'ABORTED' });
  });
});

describe('ApiClient report PDF', () => {
  const SESSION = '33333333-3333-4333-8333-333333333333';
  const route = `GET /api/sessions/${SESSION}/report.pdf`;
  const rendering = { status: 202, body: { status: 'rendering', retryAfterSeconds: 1, message: 'printing' } };

  it('asks again while the server answers 202 (being printed) and returns the PDF once it is stored', async () => {
    let n = 0;
    const { api, calls } = client({
      [route]: () => (++n < 3 ? rendering : { status: 200, body: '%PDF-1.7 fake body' }),
    });
    const pdf = await api.reportPdf(SESSION);
    expect(await pdf.text()).toContain('%PDF-1.7');
    expect(calls.map((c) => c.url)).toEqual(Array(3).fill(`/api/sessions/${SESSION}/report.pdf`));
  });

  it('gives up with SERVICE_UNAVAILABLE when the PDF is not printed within the wait', async () => {
    const { api, calls } = client({ [route]: () => rendering });
    await expect(api.reportPdf(SESSION, { maxWaitMs: 500 })).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    expect(calls).toHaveLength(1);
  });

  it('reports a failed print with its own code instead of waiting', async () => {
    const { api } = client({
      [route]: () => ({ status: 503, body: { error: { code: 'REPORT_RENDER_FAILED', message: 'no browser' } } }),
    });
    await expect(api.reportPdf(SESSION)).rejects.toMatchObject({ code: 'REPORT_RENDER_FAILED', status: 503 });
  });
});

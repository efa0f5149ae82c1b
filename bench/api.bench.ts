/**
 * API throughput and latency under load: an authenticated "submit text answer" and "next
 * question" (each a real state change of a real session), beside a bare route (`GET /healthz`) of
 * the same server in the same run. The server runs as its own process (`parley start`, embedded
 * defaults); this process only generates load, over keep-alive connections.
 *
 *   npm run bench:api [-- --candidates 16 --questions 40]
 *
 * Prints one JSON object as its last line.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { nextLinkTokens } from '../apps/server/src/shared/testing/outbox.ts';

const { values } = parseArgs({
  options: { candidates: { type: 'string', default: '16' }, questions: { type: 'string', default: '40' } },
});
const CANDIDATES = Number(values.candidates);
const QUESTIONS = Number(values.questions);
const CLI = path.resolve(import.meta.dirname, '..', 'apps', 'server', 'src', 'cli.ts');
const agent = new http.Agent({ keepAlive: true, maxSockets: CANDIDATES * 2 });

const freePort = () =>
  new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });

let base = '';
function call(method: string, url: string, body?: unknown, token?: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      `${base}${url}`,
      {
        method,
        agent,
        headers: {
          ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: data ? JSON.parse(data) : null }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function must(method: string, url: string, body?: unknown, token?: string): Promise<any> {
  const res = await call(method, url, body, token);
  if (res.status >= 300) throw new Error(`${method} ${url} → ${res.status} ${JSON.stringify(res.json)}`);
  return res.json;
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
function summary(latencies: number[], seconds: number) {
  const s = [...latencies].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 100) / 100;
  return {
    requests: s.length,
    perSecond: r(s.length / seconds),
    p50Ms: r(quantile(s, 0.5)),
    p95Ms: r(quantile(s, 0.95)),
    p99Ms: r(quantile(s, 0.99)),
  };
}

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'parley-api-bench-'));
const port = await freePort();
base = `http://127.0.0.1:${port}`;
const server = spawn(process.execPath, ['--import', 'tsx', CLI, 'start'], {
  env: {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: String(port),
    LOG_LEVEL: 'warn',
    // The worker sends the invitation e-mails the setup reads links from.
    ROLES: 'gateway,interview,worker',
    RATE_LIMIT_IP_PER_MIN: '100000000',
    RATE_LIMIT_USER_PER_MIN: '100000000',
    PASSWORD_SCRYPT_N: '16384',
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
try {
  for (;;) {
    const ok = await call('GET', '/readyz').then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }

  // A recruiter, an interview of QUESTIONS questions without preparation time, CANDIDATES sessions.
  const admin = (
    await must('POST', '/api/auth/sign-up', {
      orgName: 'Bench',
      name: 'Admin',
      email: 'admin@bench.test',
      password: 'correct horse battery',
    })
  ).accessToken as string;
  const questionIds: string[] = [];
  for (let i = 0; i < QUESTIONS; i++) {
    const q = await must(
      'POST',
      '/api/questions',
      {
        text: `Question ${i}: describe a trade-off you made.`,
        category: 'engineering',
        difficulty: 2,
        tags: [],
        expectedSeconds: 600,
        rubric: {
          criteria: [{ key: 'c', name: 'Clarity', weight: 1, anchors: { '1': 'Vague', '3': 'Clear', '5': 'Crisp' } }],
          idealAnswer: 'A concrete trade-off with its cost.',
          keyConcepts: ['trade-off'],
        },
      },
      admin,
    );
    questionIds.push(q.id);
  }
  const interview = await must(
    'POST',
    '/api/interviews',
    {
      title: 'Bench interview',
      questions: questionIds.map((questionId) => ({ questionId, prepSeconds: 0, answerSeconds: 3600 })),
    },
    admin,
  );
  await must('POST', `/api/interviews/${interview.id}/publish`, undefined, admin);
  await must(
    'POST',
    `/api/interviews/${interview.id}/invitations`,
    { candidates: Array.from({ length: CANDIDATES }, (_, i) => ({ name: `C${i}`, email: `c${i}@bench.test` })) },
    admin,
  );
  // The invitation e-mails are sent by the worker's e-mail job, shortly after the request.
  const outbox = path.join(dataDir, 'outbox');
  const seen = new Set<string>();
  for (let i = 0; i < CANDIDATES; i++) await nextLinkTokens(outbox, `c${i}@bench.test`, seen, 60_000);
  const tokens = [...seen];
  const candidates: { token: string; sessionId: string }[] = [];
  for (const token of tokens) {
    const accepted = await must('POST', '/api/invitations/accept', { token });
    const c = { token: accepted.tokens.accessToken as string, sessionId: accepted.sessionId as string };
    await must(
      'POST',
      `/api/sessions/${c.sessionId}/consent`,
      { aiNotice: true, recording: false, videoAnalysis: false, textVersion: 'v1' },
      c.token,
    );
    await must('POST', `/api/sessions/${c.sessionId}/start`, undefined, c.token);
    candidates.push(c);
  }

  // Bare route first, same concurrency, same number of requests as the measured phase.
  const total = CANDIDATES * (QUESTIONS - 1);
  const bare: number[] = [];
  let sent = 0;
  let started = performance.now();
  await Promise.all(
    Array.from({ length: CANDIDATES }, async () => {
      while (sent++ < total * 2) {
        const t = performance.now();
        const res = await call('GET', '/healthz');
        if (res.status !== 200) throw new Error(`healthz ${res.status}`);
        bare.push(performance.now() - t);
      }
    }),
  );
  const bareSeconds = (performance.now() - started) / 1000;

  // Each candidate answers a question by typing, then moves to the next, as fast as it can.
  const submit: number[] = [];
  const next: number[] = [];
  started = performance.now();
  await Promise.all(
    candidates.map(async (c) => {
      for (let position = 0; position < QUESTIONS - 1; position++) {
        let t = performance.now();
        const answered = await call(
          'POST',
          `/api/sessions/${c.sessionId}/answers/text`,
          { position, text: 'We chose consistency over latency and paid for it with a second round trip.' },
          c.token,
        );
        if (answered.status !== 200) throw new Error(`submit ${answered.status} ${JSON.stringify(answered.json)}`);
        submit.push(performance.now() - t);
        t = performance.now();
        const moved = await call('POST', `/api/sessions/${c.sessionId}/next`, { position }, c.token);
        if (moved.status !== 200) throw new Error(`next ${moved.status} ${JSON.stringify(moved.json)}`);
        next.push(performance.now() - t);
      }
    }),
  );
  const apiSeconds = (performance.now() - started) / 1000;
  const result = {
    candidates: CANDIDATES,
    questions: QUESTIONS,
    bare: summary(bare, bareSeconds),
    submitTextAnswer: summary(submit, apiSeconds),
    nextQuestion: summary(next, apiSeconds),
    // Requests per second of the two real operations together, as a share of the bare route's.
    throughputRatio:
      Math.round(((submit.length + next.length) / apiSeconds / (bare.length / bareSeconds)) * 1000) / 1000,
  };
  console.log(
    `bare GET /healthz: ${result.bare.perSecond} req/s, p99 ${result.bare.p99Ms} ms\n` +
      `submit text answer: p50 ${result.submitTextAnswer.p50Ms} ms, p95 ${result.submitTextAnswer.p95Ms} ms, p99 ${result.submitTextAnswer.p99Ms} ms\n` +
      `next question:      p50 ${result.nextQuestion.p50Ms} ms, p95 ${result.nextQuestion.p95Ms} ms, p99 ${result.nextQuestion.p99Ms} ms\n` +
      `throughput of the API operations vs the bare route: ${result.throughputRatio}`,
  );
  console.log(JSON.stringify(result));
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  agent.destroy();
  await rm(dataDir, { recursive: true, force: true });
}

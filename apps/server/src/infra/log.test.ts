import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { startServer, type RunningServer } from '../server.ts';
import { createTestDatabase } from './db/testing.ts';
import { createLogger, createLogScope, scrub, scrubString, withLogContext, type Logger } from './log.ts';

/** A logger writing into an array: the exact bytes a process would print. */
function capture(options: { traceContext?: () => { traceId: string; spanId?: string } | undefined } = {}) {
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      raw.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ level: 'trace', destination, ...options });
  return { logger, raw, lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('logs of a running server', () => {
  const email = 'ann.private@example.com';
  const password = 'correct-Horse-battery-9';
  const wrongPassword = 'Wrong-Password-Guess-77';
  const queryToken = 'QUERYTOKENabcdef123456';
  const badToken = 'not.a.realjwtvalue';
  let server: RunningServer;
  let dataDir: string;
  let log: ReturnType<typeof capture>;
  let tokens: { accessToken: string; refreshToken: string };
  let rotated: { accessToken: string; refreshToken: string };
  const requestIds: string[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'parley-log-'));
    log = capture();
    const config = loadConfig({
      DATA_DIR: dataDir,
      LOG_LEVEL: 'trace',
      HOST: '127.0.0.1',
      PORT: '0',
      PASSWORD_SCRYPT_N: '1024',
    });
    server = await startServer(config, { logger: log.logger, database: await createTestDatabase() });
    const call = async (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) => {
      const res = await fetch(new URL(url, server.url), {
        method,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      requestIds.push(res.headers.get('x-request-id') ?? '');
      return { status: res.status, body: (await res.json()) as Record<string, string> };
    };
    const signUp = await call('POST', '/api/auth/sign-up', { orgName: 'Acme', name: 'Ann', email, password });
    expect(signUp.status).toBe(201);
    tokens = signUp.body as typeof tokens;
    expect((await call('POST', '/api/auth/sign-up', { orgName: 'B', name: 'B', email, password })).status).toBe(409);
    expect((await call('POST', '/api/auth/sign-in', { email, password: wrongPassword })).status).toBe(401);
    expect((await call('POST', '/api/auth/sign-in', { email, password })).status).toBe(200);
    expect((await call('GET', '/api/me', undefined, { authorization: `Bearer ${badToken}` })).status).toBe(401);
    expect((await call('GET', `/api/me?access_token=${queryToken}`)).status).toBe(401);
    expect((await call('GET', '/api/me', undefined, { authorization: `Bearer ${tokens.accessToken}` })).status).toBe(
      200,
    );
    const refreshed = await call('POST', '/api/auth/refresh', { refreshToken: tokens.refreshToken });
    expect(refreshed.status).toBe(200);
    rotated = refreshed.body as typeof rotated;
    // A reused refresh token: the service audits and refuses it.
    expect((await call('POST', '/api/auth/refresh', { refreshToken: tokens.refreshToken })).status).toBe(401);
    // What a careless caller might hand the process logger: nested personal data, an error quoting input.
    const logger = server.container.logger.child({ sessionId: 's-1', messageId: 'm-1' });
    logger.warn(
      {
        user: { profile: { email, settings: { apiKey: 'sk-live-0123456789abcdefghij' } } },
        answer: { text: 'my salary' },
      },
      `sign-in by ${email} with Bearer ${tokens.accessToken}`,
    );
    logger.error({ err: new Error(`duplicate key value (email)=(${email})`) }, 'insert failed');
    logger.info({ url: `https://s3.example.com/o?X-Amz-Signature=abc123&X-Amz-Credential=AKIAABCDEFGHIJKLMNOP` });
    logger.info({ db: 'postgres://parley:s3cretpw@db:5432/parley', transcript: 'I managed a team of five' });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('prints one JSON object per line', () => {
    expect(log.raw.length).toBeGreaterThan(10);
    for (const line of log.raw) expect(() => JSON.parse(line) as unknown).not.toThrow();
  });

  it('never prints an e-mail, a password, a token, a key or a transcript', () => {
    const secrets = [
      email,
      'ann.private',
      password,
      wrongPassword,
      queryToken,
      badToken,
      tokens.accessToken,
      tokens.refreshToken,
      rotated.accessToken,
      rotated.refreshToken,
      'sk-live-0123456789abcdefghij',
      'my salary',
      'abc123',
      'AKIAABCDEFGHIJKLMNOP',
      's3cretpw',
      'I managed a team',
    ];
    for (const line of log.raw) for (const secret of secrets) expect(line).not.toContain(secret);
  });

  it('keeps what an operator needs: the redacted shapes, status codes and the error', () => {
    const lines = log.lines();
    expect(lines.some((l) => (l.req as { url?: string } | undefined)?.url === '/api/me?access_token=[redacted]')).toBe(
      true,
    );
    const warn = lines.find((l) => l.level === 'warn' && String(l.msg).startsWith('sign-in by'));
    expect(warn?.msg).toBe('sign-in by [email] with Bearer [redacted]');
    expect(warn?.user).toEqual({ profile: { email: '[redacted]', settings: { apiKey: '[redacted]' } } });
    const failed = lines.find((l) => l.msg === 'insert failed');
    expect((failed?.err as { message: string }).message).toBe('duplicate key value (email)=([email])');
    expect(lines.filter((l) => (l.res as { statusCode?: number } | undefined)?.statusCode === 401).length).toBe(4);
  });

  it('puts the request id of the response on every line of that request', () => {
    const lines = log.lines();
    for (const id of requestIds) {
      const mine = lines.filter((l) => l.requestId === id);
      expect(mine.map((l) => l.msg)).toEqual(expect.arrayContaining(['incoming request', 'request completed']));
    }
    expect(lines.some((l) => 'reqId' in l)).toBe(false);
  });

  it('carries session and job ids bound by a consumer', () => {
    const line = log.lines().find((l) => l.msg === 'insert failed');
    expect(line).toMatchObject({ sessionId: 's-1', jobId: 'm-1', messageId: 'm-1', pid: process.pid });
  });
});

describe('log context', () => {
  it('adds the scope’s ids and the active trace to lines of any logger, once each', () => {
    const active: { trace?: { traceId: string; spanId?: string } } = {};
    const { logger, raw, lines } = capture({ traceContext: () => active.trace });
    logger.info('outside');
    active.trace = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
    withLogContext({ requestId: 'r-1', sessionId: 's-1' }, () => {
      withLogContext({ jobId: 'j-1' }, () => logger.info('nested'));
      logger.child({ sessionId: 's-1' }).info('bound too');
    });
    expect(lines()[0]).not.toHaveProperty('requestId');
    expect(lines()[1]).toMatchObject({
      requestId: 'r-1',
      sessionId: 's-1',
      jobId: 'j-1',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
    });
    expect(raw[2]?.match(/"sessionId"/g)).toHaveLength(1);
    expect(lines()[2]).toMatchObject({ requestId: 'r-1', sessionId: 's-1' });
  });

  it('survives a framework’s body parsing when re-entered from its hooks', async () => {
    const { logger, lines } = capture();
    const app = Fastify({ logger: false });
    const scopes = new WeakMap<object, { run<R>(fn: () => R): R }>();
    app.addHook('onRequest', (request, _reply, done) => {
      const s = createLogScope({ requestId: String(request.headers['x-request-id']) });
      scopes.set(request, s);
      s.run(done);
    });
    app.addHook('preValidation', (request, _reply, done) => {
      const s = scopes.get(request);
      if (s) s.run(done);
      else done();
    });
    app.post('/echo', async (request) => {
      await new Promise((r) => setTimeout(r, 5));
      logger.info('handled');
      return request.body;
    });
    for (const id of ['a', 'b']) {
      const res = await app.inject({ method: 'POST', url: '/echo', headers: { 'x-request-id': id }, payload: { id } });
      expect(res.statusCode).toBe(200);
    }
    await app.close();
    expect(lines().map((l) => l.requestId)).toEqual(['a', 'b']);
  });
});

describe('scrubbing', () => {
  it.each([
    ['mail ann@example.org now', 'mail [email] now'],
    ['GET /x?a=1&refresh_token=abc&b=2', 'GET /x?a=1&refresh_token=[redacted]&b=2'],
    ['authorization: Basic dXNlcjpwYXNz', 'authorization: Basic [redacted]'],
    ['key sk-ant-api03-abcdefghijklmnopqrstuv used', 'key [redacted-key] used'],
    ['amqp://guest:guest@localhost:5672', 'amqp://[redacted]@localhost:5672'],
    ['token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-nature', 'token [redacted-jwt]'],
    ['nothing to see', 'nothing to see'],
  ])('scrubs %s', (input, expected) => {
    expect(scrubString(input)).toBe(expected);
  });

  it('censors sensitive keys at any depth, whatever their spelling', () => {
    const out = scrub({
      a: { b: { c: { d: { Password: 'x', 'x-api-key': 'y', refresh_token: 'z', EMAIL: 'q', keep: 1 } } } },
      list: [{ transcript: 't' }],
    });
    expect(out).toEqual({
      a: {
        b: {
          c: {
            d: {
              Password: '[redacted]',
              'x-api-key': '[redacted]',
              refresh_token: '[redacted]',
              EMAIL: '[redacted]',
              keep: 1,
            },
          },
        },
      },
      list: [{ transcript: '[redacted]' }],
    });
  });

  it('survives cycles, buffers and deep objects', () => {
    const cyclic: Record<string, unknown> = { name: 'x' };
    cyclic.self = cyclic;
    expect(scrub({ cyclic, buf: Buffer.alloc(3) })).toEqual({
      cyclic: { name: 'x', self: '[circular]' },
      buf: '[binary 3 bytes]',
    });
  });

  it('scrubs child bindings', () => {
    const { logger, raw } = capture();
    const child: Logger = logger.child({ to: 'someone@example.com', accessToken: 'abc' });
    child.info('x');
    expect(raw[0]).not.toContain('someone@example.com');
    expect(raw[0]).not.toContain('"abc"');
  });
});

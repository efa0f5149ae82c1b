import { ZErrorBody } from '@parley/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError } from '../../shared/app-error.ts';
import { createLogger } from '../log.ts';
import { createHttpServer, type HttpServer } from './http-server.ts';
import { Metrics } from './metrics.ts';

let app: HttpServer;
let ready = true;

beforeAll(async () => {
  app = await createHttpServer({
    logger: createLogger({ level: 'silent' }),
    metrics: new Metrics(),
    bodyLimitBytes: 1024,
    corsOrigins: ['https://app.example.com'],
    version: 'test',
    readiness: async () => ({
      status: ready ? 'ready' : 'not_ready',
      roles: ['gateway'],
      checks: [{ name: 'cache', ok: ready, latencyMs: 1, ...(ready ? {} : { error: 'down' }) }],
    }),
  });
  app.post(
    '/api/echo',
    {
      schema: {
        body: z.strictObject({ name: z.string().min(1), count: z.number().int() }),
        response: { 200: z.object({ name: z.string() }) },
      },
    },
    async (request) => ({ name: request.body.name }),
  );
  app.get('/api/conflict', async () => {
    throw new AppError('ILLEGAL_TRANSITION', 'cannot go from invited to scored');
  });
  app.get('/api/boom', async () => {
    throw new Error('secret internals at /srv/db.ts:42');
  });
  await app.ready();
});

afterAll(async () => {
  await app.close();
});

const errorOf = (payload: string) => ZErrorBody.parse(JSON.parse(payload)).error;

describe('the HTTP edge', () => {
  it('answers liveness', async () => {
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('reports readiness with each named check, 503 when one fails', async () => {
    const ok = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ status: 'ready', checks: [{ name: 'cache', ok: true }] });
    ready = false;
    const down = await app.inject({ method: 'GET', url: '/readyz' });
    ready = true;
    expect(down.statusCode).toBe(503);
    expect(down.json()).toMatchObject({ status: 'not_ready', checks: [{ name: 'cache', ok: false, error: 'down' }] });
  });

  it('echoes a caller request id and makes one otherwise', async () => {
    const given = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'req-123' } });
    expect(given.headers['x-request-id']).toBe('req-123');
    const made = await app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'bad id with spaces' },
    });
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('maps a coded service error to its status and code', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/conflict' });
    expect(res.statusCode).toBe(409);
    expect(errorOf(res.payload)).toMatchObject({
      code: 'ILLEGAL_TRANSITION',
      message: 'cannot go from invited to scored',
    });
  });

  it('hides internals of an unexpected error behind a bare 500', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/boom' });
    expect(res.statusCode).toBe(500);
    expect(res.payload).not.toContain('/srv/db.ts');
    expect(errorOf(res.payload).code).toBe('INTERNAL');
  });

  it.each([
    ['malformed JSON', '{"name": ', 'application/json', 400, 'MALFORMED_JSON'],
    ['a wrong type', '{"name":"a","count":"x"}', 'application/json', 400, 'VALIDATION_FAILED'],
    ['a missing field', '{"name":"a"}', 'application/json', 400, 'VALIDATION_FAILED'],
    ['an unknown field', '{"name":"a","count":1,"admin":true}', 'application/json', 400, 'VALIDATION_FAILED'],
    [
      'an oversized body',
      JSON.stringify({ name: 'x'.repeat(5000), count: 1 }),
      'application/json',
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    ['an unsupported media type', 'name=a', 'application/x-www-form-urlencoded', 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ])('refuses %s with a coded 4xx', async (_label, payload, contentType, status, code) => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/echo',
      payload,
      headers: { 'content-type': contentType },
    });
    expect(res.statusCode).toBe(status);
    expect(errorOf(res.payload).code).toBe(code);
  });

  it('answers an unknown route with a coded 404', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/nothing-here' });
    expect(res.statusCode).toBe(404);
    expect(errorOf(res.payload).code).toBe('NOT_FOUND');
  });

  it('exports Prometheus metrics with a latency histogram by route and status', async () => {
    await app.inject({ method: 'GET', url: '/api/conflict' });
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.payload).toMatch(
      /http_request_duration_seconds_bucket\{[^}]*route="\/api\/conflict"[^}]*status_code="409"/,
    );
    expect(res.payload).toContain('process_cpu_user_seconds_total');
  });

  it('publishes an OpenAPI document built from the route schemas', async () => {
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    const doc = res.json<{ openapi: string; paths: Record<string, Record<string, { requestBody?: unknown }>> }>();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.paths['/api/echo']?.post?.requestBody).toBeDefined();
    expect(doc.paths['/readyz']).toBeDefined();
  });

  it('sets security headers and CORS only for configured origins', async () => {
    const allowed = await app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { origin: 'https://app.example.com' },
    });
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(allowed.headers['x-content-type-options']).toBe('nosniff');
    expect(allowed.headers['strict-transport-security']).toContain('max-age=');
    const other = await app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://evil.example' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});

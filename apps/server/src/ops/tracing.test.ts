import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBroker } from '../infra/broker/memory-broker.ts';
import { INTERVIEW_EVENTS_TOPOLOGY } from '../infra/broker/topology.ts';
import { createLogger } from '../infra/log.ts';
import { inSpan, startTelemetry, summariseStatement, traceBroker, traceHeaders } from '../infra/telemetry.ts';
// eslint-disable-next-line no-restricted-imports -- the realtime context's WebSocket test client
import { eventually, TestClient } from '../realtime/testing.ts';
import { startTestServer, type TestServer } from '../shared/testing/test-server.ts';

const FACE = path.resolve(import.meta.dirname, '..', '..', '..', '..', '..', 'shared', 'data', 'faces', 'photos');
const PASSWORD = 'correct horse battery staple';

interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  status: { code?: number };
}

/** An OTLP/HTTP collector: takes POST /v1/traces in the JSON encoding and keeps every span. */
async function startReceiver(): Promise<{ url: string; spans: ExportedSpan[]; close(): Promise<void> }> {
  const spans: ExportedSpan[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !/json/.test(req.headers['content-type'] ?? '')) {
        res.writeHead(415).end();
        return;
      }
      const payload = JSON.parse(body.toString('utf8')) as {
        resourceSpans: {
          scopeSpans: { spans: (Omit<ExportedSpan, 'attributes'> & { attributes?: OtlpAttr[] })[] }[];
        }[];
      };
      for (const rs of payload.resourceSpans)
        for (const ss of rs.scopeSpans)
          for (const s of ss.spans)
            spans.push({ ...s, parentSpanId: s.parentSpanId ?? '', attributes: attrs(s.attributes) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

type OtlpAttr = { key: string; value: Record<string, unknown> };
function attrs(list: OtlpAttr[] = []): Record<string, unknown> {
  return Object.fromEntries(
    list.map(({ key, value }) => {
      const v = value.stringValue ?? value.intValue ?? value.doubleValue ?? value.boolValue;
      return [key, typeof v === 'string' && 'intValue' in value ? Number(v) : v];
    }),
  );
}

/** Invitation → consent → started, through the public API; returns both sides' tokens. */
async function startedSession(server: TestServer) {
  const { api } = server;
  const admin = (
    await api.call('POST', '/api/auth/sign-up', {
      body: { orgName: 'Traced', name: 'Tara', email: 'tara@traced.test', password: PASSWORD },
    })
  ).body.accessToken as string;
  const question = await api.call('POST', '/api/questions', {
    token: admin,
    body: {
      text: 'Tell us about a system you built.',
      category: 'general',
      difficulty: 2,
      tags: [],
      expectedSeconds: 120,
      rubric: {
        criteria: [
          { key: 'substance', name: 'Substance', weight: 1, anchors: { '1': 'Empty', '3': 'Thin', '5': 'Complete' } },
        ],
        idealAnswer: 'A concrete system with trade-offs.',
        keyConcepts: ['trade-off'],
      },
    },
  });
  expect(question.status).toBe(201);
  const interview = await api.call('POST', '/api/interviews', {
    token: admin,
    body: {
      title: 'Traced interview',
      settings: {
        language: 'en',
        deadline: null,
        emotionPolicy: 'insights',
        weights: { answers: 1, emotion: 0, behavioral: 0 },
      },
      questions: [{ questionId: question.body.id, isPractice: false, prepSeconds: 0 }],
    },
  });
  expect(interview.status).toBe(201);
  expect((await api.call('POST', `/api/interviews/${interview.body.id}/publish`, { token: admin })).status).toBe(200);
  const invited = await api.call('POST', `/api/interviews/${interview.body.id}/invitations`, {
    token: admin,
    body: { candidates: [{ name: 'Casey Candidate', email: 'casey@traced.test' }] },
  });
  expect(invited.status).toBe(201);
  // The workers' e-mail job sends the invitation shortly after the request.
  const mail = await eventually(async () => (await server.outbox()).find((m) => m.includes('casey@traced.test')));
  const link = /token=([A-Za-z0-9_-]+)/.exec(mail)?.[1];
  const accepted = await api.call('POST', '/api/invitations/accept', { body: { token: link } });
  expect(accepted.status).toBe(200);
  const sessionId = accepted.body.sessionId as string;
  const candidate = accepted.body.tokens.accessToken as string;
  const consent = await api.call('POST', `/api/sessions/${sessionId}/consent`, {
    token: candidate,
    body: { aiNotice: true, recording: true, videoAnalysis: true, textVersion: 'v1' },
  });
  expect(consent.status).toBe(200);
  expect((await api.call('POST', `/api/sessions/${sessionId}/start`, { token: candidate })).status).toBe(200);
  return { admin, candidate, sessionId };
}

describe('tracing over OTLP', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it('one trace covers a frame from the socket through the broker and emotion analysis to the live push', async () => {
    const server = await startTestServer({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    let sessionId = '';
    try {
      const session = await startedSession(server);
      sessionId = session.sessionId;
      const wsUrl = `${server.url.replace(/^http/, 'ws')}/ws`;
      const staff = await TestClient.authenticated(wsUrl, session.admin);
      staff.json({ type: 'subscribe', sessionId });
      await staff.next('subscribed');
      const candidate = await TestClient.authenticated(wsUrl, session.candidate);
      candidate.frame(
        { seq: 0, capturedAt: Date.now(), sessionId },
        readFileSync(path.join(FACE, 'happy__faceapi.jpg')),
      );
      expect(await candidate.next('frame.ack', () => true, 30_000)).toMatchObject({ seq: 0, duplicate: false });
      const pushed = await staff.next('emotion', () => true, 60_000);
      expect(pushed.result).toMatchObject({ sessionId, seq: 0, status: 'ok' });
      // The result as staff see it carries nothing of the trace.
      expect(JSON.stringify(pushed)).not.toContain('traceparent');
      await Promise.all([staff.close(), candidate.close()]);
    } finally {
      // Stopping flushes the batch of spans to the receiver.
      await server.close();
    }

    const spans = receiver.spans;
    const intake = spans.find((s) => s.name === 'ws frame intake' && s.attributes['parley.session_id'] === sessionId);
    expect(intake, 'the frame intake span').toBeDefined();
    expect(intake!.parentSpanId).toBe('');
    const trace = spans.filter((s) => s.traceId === intake!.traceId);
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const ancestors = (s: ExportedSpan) => {
      const out: string[] = [];
      for (let p = byId.get(s.parentSpanId); p; p = byId.get(p.parentSpanId)) out.push(p.name);
      return out;
    };
    const one = (name: string) => {
      const found = trace.filter((s) => s.name === name);
      expect(
        found.map((s) => s.name),
        `spans named "${name}" in the frame's trace`,
      ).toEqual([name]);
      return found[0]!;
    };

    const published = one('publish interview.frame.captured');
    const consumed = one('process emotion.analysis');
    const recorded = one('db transaction');
    const push = one('realtime push emotion');
    expect(ancestors(published)).toEqual(['ws frame intake']);
    expect(ancestors(consumed)).toEqual(['publish interview.frame.captured', 'ws frame intake']);
    expect(ancestors(recorded)).toEqual([
      'process emotion.analysis',
      'publish interview.frame.captured',
      'ws frame intake',
    ]);
    expect(ancestors(push)).toEqual([
      'process emotion.analysis',
      'publish interview.frame.captured',
      'ws frame intake',
    ]);
    expect(consumed.attributes).toMatchObject({
      'messaging.destination.name': 'emotion.analysis',
      'parley.delivery.attempt': 1,
    });
    expect(push.attributes).toMatchObject({ 'parley.session_id': sessionId, 'parley.subscribers': 1 });
    // The consumer also announces the result on the broker, in the same trace.
    expect(ancestors(one('publish interview.emotion.analyzed'))[0]).toBe('process emotion.analysis');

    // HTTP requests are traced too, their context active through body parsing into the handler.
    const start = spans.find((s) => s.name === 'POST /api/sessions/:id/start');
    expect(start, `the session start request among ${[...new Set(spans.map((s) => s.name))].join(', ')}`).toBeDefined();
    expect(start!.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.response.status_code': 200 });
    expect(spans.filter((s) => s.parentSpanId === start!.spanId).map((s) => s.name)).toContain('db transaction');
    // Every statement of a traced operation is a span under it: its text carries placeholders, never
    // the values (the candidate's e-mail address was bound into several statements).
    const statements = spans.filter((s) => typeof s.attributes['db.query.text'] === 'string');
    expect(statements.filter((s) => s.parentSpanId === '').map((s) => s.name)).toEqual([]);
    expect(JSON.stringify(spans)).not.toContain('casey@traced.test');
    const inRecorded = statements.filter((s) => s.parentSpanId === recorded.spanId);
    const insert = inRecorded.find((s) => s.name === 'INSERT emotion_analysis');
    expect(insert, `statements of the frame's transaction: ${inRecorded.map((s) => s.name).join(', ')}`).toBeDefined();
    expect(insert!.attributes).toMatchObject({
      'db.system.name': 'postgresql',
      'db.operation.name': 'INSERT',
      'db.collection.name': 'emotion_analysis',
    });
    expect(insert!.attributes['db.query.text']).toMatch(/^insert into "emotion_analysis" .*\$1/);
    // A WebSocket upgrade has no response; its span ends when the socket is taken.
    expect(spans.filter((s) => s.name === 'GET /ws').map((s) => s.attributes['http.response.status_code'])).toEqual([
      101, 101,
    ]);
  }, 120_000);

  it('continues a caller’s W3C trace context on HTTP requests', async () => {
    const server = await startTestServer({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ROLES: 'gateway' });
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    try {
      const res = await server.api.call('GET', '/healthz', {
        headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      });
      expect(res.status).toBe(200);
    } finally {
      await server.close();
    }
    const span = await eventually(async () => receiver.spans.find((s) => s.traceId === traceId));
    expect(span).toMatchObject({ name: 'GET /healthz', parentSpanId: '00f067aa0ba902b7' });
  });

  it('puts the active trace and span ids on log lines', async () => {
    const telemetry = await startTelemetry({
      telemetry: { otlpEndpoint: receiver.url },
      server: { roles: ['gateway'] },
    });
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({
      level: 'info',
      traceContext: telemetry.traceContext,
      destination: new Writable({
        write(chunk: Buffer, _encoding, callback) {
          lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
          callback();
        },
      }),
    });
    try {
      const ids = inSpan('logged work', {}, (span) => {
        logger.info('inside');
        return span.spanContext();
      });
      logger.info('outside');
      expect(lines[0]).toMatchObject({ msg: 'inside', traceId: ids.traceId, spanId: ids.spanId });
      expect(lines[1]).not.toHaveProperty('traceId');
    } finally {
      await telemetry.shutdown();
    }
  });
});

describe('tracing without an endpoint', () => {
  it('costs nothing: adapters are not wrapped and no trace context is added to messages', async () => {
    const telemetry = await startTelemetry({ telemetry: {}, server: { roles: ['gateway'] } });
    const broker = new MemoryBroker({ topology: INTERVIEW_EVENTS_TOPOLOGY });
    try {
      expect(telemetry.enabled).toBe(false);
      expect(telemetry.traceContext).toBeUndefined();
      expect(traceBroker(broker, telemetry, 'memory')).toBe(broker);
      expect(inSpan('unrecorded', {}, () => traceHeaders())).toEqual({});
    } finally {
      await broker.close();
      await telemetry.shutdown();
    }
  });
});

describe('statement span names', () => {
  it('are the operation and the first table the statement names', () => {
    expect(summariseStatement('select "id" from "interview_sessions" where "id" = $1')).toEqual({
      operation: 'SELECT',
      collection: 'interview_sessions',
    });
    expect(summariseStatement('update "answers" set "text" = $1')).toEqual({
      operation: 'UPDATE',
      collection: 'answers',
    });
    expect(summariseStatement('  insert into "audit_log" ("id") values ($1)')).toEqual({
      operation: 'INSERT',
      collection: 'audit_log',
    });
    expect(summariseStatement('delete from public.frames where id = $1')).toEqual({
      operation: 'DELETE',
      collection: 'public.frames',
    });
    expect(summariseStatement('begin')).toEqual({ operation: 'BEGIN' });
    expect(summariseStatement('select 1')).toEqual({ operation: 'SELECT' });
  });
});

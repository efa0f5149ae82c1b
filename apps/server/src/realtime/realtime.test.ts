import { randomUUID } from 'node:crypto';
import {
  EMOTION_EVENTS,
  encodeBinaryFrame,
  ZFrameCaptured,
  ZWsServerMessage,
  type TEmotionAnalyzed,
  type TFrameCaptured,
} from '@parley/contracts';
import { and, eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Broker } from '../infra/broker/broker.ts';
import { MemoryCacheHub } from '../infra/cache/memory-cache.ts';
import type { PgliteDatabase } from '../infra/db/pglite-database.ts';
import { consents, frames, interviewSessions } from '../infra/db/schema.ts';
import { createTestDatabase } from '../infra/db/testing.ts';
import { AppError } from '../shared/app-error.ts';
import { announceSessionUpdates } from '../interviews/index.ts';
import {
  eventually,
  makeJpeg,
  seedSession,
  startRealtimeServer,
  TestClient,
  TokenTable,
  type RealtimeServer,
} from './testing.ts';

let database: PgliteDatabase;
const tokens = new TokenTable();
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.close();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(opts: Omit<Parameters<typeof startRealtimeServer>[0], 'database' | 'authenticate'> = {}) {
  const s = await startRealtimeServer({ database, authenticate: tokens.authenticate, ...opts });
  cleanups.push(() => s.close());
  return s;
}

async function client(s: RealtimeServer, token: string) {
  const c = await TestClient.authenticated(s.wsUrl, token);
  cleanups.push(() => c.close());
  return c;
}

/** Every `interview.frame.captured` the module publishes, as the emotion consumer would receive it. */
async function capturedFrames(s: RealtimeServer): Promise<TFrameCaptured[]> {
  const seen: TFrameCaptured[] = [];
  const consumer = await s.broker.consume('emotion.analysis', async (m) => {
    expect(m.routingKey).toBe(EMOTION_EVENTS.frameCaptured);
    seen.push(ZFrameCaptured.parse(m.payload));
  });
  cleanups.push(() => consumer.close());
  return seen;
}

/** A broker whose publishes can be held at the door or made to fail. */
function controllable(inner: Broker) {
  let held: { entered: () => void; release: Promise<void> } | undefined;
  let failures = 0;
  const control = {
    /** The next publish waits; resolves `entered` when it arrives, proceeds on `release()`. */
    holdNext() {
      let release!: () => void;
      let entered!: () => void;
      const arrived = new Promise<void>((r) => (entered = r));
      held = { entered, release: new Promise<void>((r) => (release = r)) };
      return { arrived, release };
    },
    failNext(n = 1) {
      failures = n;
    },
    broker: {
      ...inner,
      publish: async (routingKey, payload, options) => {
        if (failures > 0) {
          failures--;
          throw new AppError('SERVICE_UNAVAILABLE', 'broker unreachable');
        }
        const gate = held;
        held = undefined;
        if (gate) {
          gate.entered();
          await gate.release;
        }
        return inner.publish(routingKey, payload, options);
      },
      consume: (q, h, o) => inner.consume(q, h, o),
      stats: () => inner.stats(),
      retryDead: (q) => inner.retryDead(q),
      ping: () => inner.ping(),
      close: () => inner.close(),
    } satisfies Broker,
  };
  return control;
}

const frameRows = (sessionId: string) => database.primary.select().from(frames).where(eq(frames.sessionId, sessionId));

function analysis(
  orgId: string,
  sessionId: string,
  seq: number,
  over: Partial<TEmotionAnalyzed> = {},
): TEmotionAnalyzed {
  return {
    analysisId: randomUUID(),
    sessionId,
    orgId,
    answerId: null,
    frameId: randomUUID(),
    seq,
    capturedAt: 1_700_000_000_000 + seq * 100,
    status: 'ok',
    errorCode: null,
    faceDetected: true,
    faceCount: 1,
    emotion: 'happy',
    confidence: 0.8,
    probabilities: { angry: 0, disgust: 0, fear: 0, happy: 0.8, sad: 0.05, surprise: 0.05, neutral: 0.1 },
    ear: 0.31,
    blinksInFrame: 0,
    sessionBlinks: 3,
    headPose: { yaw: 2, pitch: -1, roll: 0 },
    gazeAway: false,
    qualityOk: true,
    ...over,
  };
}

describe('authentication', () => {
  it('refuses an upgrade with an invalid access_token', async () => {
    const s = await server();
    await expect(TestClient.connect(s.wsUrl, 'not-a-token')).rejects.toThrow(/401/);
  });

  it('takes a valid access_token at the upgrade and says ready', async () => {
    const s = await server();
    const { candidate } = await seedSession(database.db);
    const c = await TestClient.connect(s.wsUrl, tokens.issue(candidate));
    cleanups.push(() => c.close());
    const ready = await c.next('ready');
    expect(ready.actor).toEqual({
      kind: 'candidate',
      userId: candidate.userId,
      orgId: candidate.orgId,
      sessionId: candidate.sessionId,
    });
    expect(ready.limits).toEqual({ framesPerSec: 10, maxFrameBytes: 262_144 });
  });

  it('answers UNAUTHENTICATED to anything before auth, and closes 4401 on a bad auth message', async () => {
    const s = await server();
    const { sessionId } = await seedSession(database.db);
    const c = await TestClient.connect(s.wsUrl);
    c.json({ type: 'subscribe', sessionId });
    c.frame({ seq: 0 }, makeJpeg());
    expect((await c.next('error', (e) => e.sessionId === sessionId)).code).toBe('UNAUTHENTICATED');
    expect((await c.next('error', (e) => e.seq === 0)).code).toBe('UNAUTHENTICATED');
    c.json({ type: 'auth', token: 'forged' });
    expect((await c.next('error', (e) => e.code === 'TOKEN_INVALID')).message).toMatch(/invalid/i);
    expect(await c.whenClosed()).toBe(4401);
    expect(await frameRows(sessionId)).toHaveLength(0);
  });

  it('closes a socket that never authenticates', async () => {
    const s = await server({ options: { authTimeoutMs: 50 } });
    const c = await TestClient.connect(s.wsUrl);
    expect(await c.whenClosed()).toBe(4401);
  });

  it('keeps a socket on one user: a refreshed token of the same user is taken, another user is refused', async () => {
    const s = await server();
    const a = await seedSession(database.db);
    const c = await client(s, tokens.issue(a.candidate));
    c.json({ type: 'auth', token: tokens.issue(a.candidate) });
    await c.next('ready');
    c.json({ type: 'auth', token: tokens.issue(a.recruiter) });
    expect((await c.next('error')).code).toBe('FORBIDDEN');
    c.frame({ seq: 0 }, makeJpeg());
    await c.next('frame.ack', (m) => m.seq === 0);
  });
});

describe('frames', () => {
  it('acknowledges a frame only after it is stored, recorded and announced with ids and its key', async () => {
    let control!: ReturnType<typeof controllable>;
    const s = await server({ wrapBroker: (b) => (control = controllable(b)).broker });
    const published = await capturedFrames(s);
    const { candidate, orgId, sessionId } = await seedSession(database.db);
    const c = await client(s, tokens.issue(candidate));
    const bytes = makeJpeg(1);
    const gate = control.holdNext();
    c.frame({ seq: 0, capturedAt: Date.now() }, bytes);
    await gate.arrived;
    // The publish is being made: the object and the row exist, and nothing has been acknowledged.
    const [row] = await frameRows(sessionId);
    expect(row).toMatchObject({ orgId, sessionId, seq: 0, sizeBytes: bytes.length });
    expect((await s.storage.get(row!.storageKey)).bytes).toEqual(bytes);
    // Messages on a socket keep their order: an ack sent before this pong would be here by now.
    c.json({ type: 'ping', id: 'barrier' });
    await c.next('pong');
    expect(c.all('frame.ack')).toHaveLength(0);
    expect(published).toHaveLength(0);
    gate.release();
    expect(await c.next('frame.ack')).toEqual({ type: 'frame.ack', seq: 0, duplicate: false });
    await eventually(async () => published.length === 1);
    expect(published[0]).toEqual({
      sessionId,
      orgId,
      frameId: row!.id,
      seq: 0,
      capturedAt: row!.capturedAt.getTime(),
      storageKey: row!.storageKey,
    });
    expect(row!.storageKey).toBe(`orgs/${orgId}/sessions/${sessionId}/frames/0-${row!.id}.jpg`);
  });

  it('takes base64 frames too, and every server message matches the contract', async () => {
    const s = await server();
    const { candidate, sessionId } = await seedSession(database.db);
    const c = await client(s, tokens.issue(candidate));
    c.frame({ seq: 7, sessionId }, makeJpeg(2), 'base64');
    expect(await c.next('frame.ack')).toMatchObject({ seq: 7, duplicate: false });
    for (const m of c.messages) expect(ZWsServerMessage.safeParse(m).success).toBe(true);
  });

  it('does not acknowledge a frame it could not announce; the re-sent frame is announced once stored', async () => {
    let control!: ReturnType<typeof controllable>;
    const s = await server({ wrapBroker: (b) => (control = controllable(b)).broker });
    const published = await capturedFrames(s);
    const { candidate, sessionId } = await seedSession(database.db);
    const c = await client(s, tokens.issue(candidate));
    control.failNext();
    c.frame({ seq: 0 }, makeJpeg());
    const error = await c.next('error', (e) => e.seq === 0);
    expect(error.code).toBe('SERVICE_UNAVAILABLE');
    expect(c.all('frame.ack')).toHaveLength(0);
    c.frame({ seq: 0 }, makeJpeg());
    expect(await c.next('frame.ack')).toMatchObject({ seq: 0, duplicate: true });
    await eventually(async () => published.length === 1);
    const rows = await frameRows(sessionId);
    expect(rows).toHaveLength(1);
    expect(published[0]!.frameId).toBe(rows[0]!.id);
  });

  it('acknowledges a re-sent seq again without writing a duplicate', async () => {
    const s = await server();
    const { candidate, orgId, sessionId } = await seedSession(database.db);
    const c = await client(s, tokens.issue(candidate));
    c.frame({ seq: 3 }, makeJpeg(1));
    expect(await c.next('frame.ack')).toMatchObject({ seq: 3, duplicate: false });
    c.frame({ seq: 3 }, makeJpeg(2));
    expect(await c.next('frame.ack')).toMatchObject({ seq: 3, duplicate: true });
    const rows = await frameRows(sessionId);
    expect(rows).toHaveLength(1);
    // The first frame's bytes stand; the second copy left nothing behind.
    expect((await s.storage.get(rows[0]!.storageKey)).bytes).toEqual(makeJpeg(1));
    expect(await s.storage.list(`orgs/${orgId}/sessions/${sessionId}/frames/`)).toEqual([rows[0]!.storageKey]);
  });

  it(`drops frames beyond the per-socket rate with a notice, counts them, and takes frames again a second later`, async () => {
    let now = 1_700_000_000_000;
    const s = await server({ options: { now: () => now, maxInFlightFrames: 16 } });
    const { candidate, sessionId } = await seedSession(database.db);
    const c = await client(s, tokens.issue(candidate));
    for (let seq = 0; seq < 15; seq++) c.frame({ seq }, makeJpeg(seq));
    const dropped = await Promise.all([10, 11, 12, 13, 14].map((seq) => c.next('frame.dropped', (m) => m.seq === seq)));
    expect(dropped.map((d) => [d.reason, d.code])).toEqual(Array(5).fill(['rate_limited', 'RATE_LIMITED']));
    expect(dropped.map((d) => d.droppedTotal).sort()).toEqual([1, 2, 3, 4, 5]);
    const acks = await Promise.all(Array.from({ length: 10 }, (_, seq) => c.next('frame.ack', (m) => m.seq === seq)));
    expect(acks).toHaveLength(10);
    expect(c.socket.readyState).toBe(c.socket.OPEN);

    now += 999;
    c.frame({ seq: 15 }, makeJpeg());
    expect((await c.next('frame.dropped', (m) => m.seq === 15)).droppedTotal).toBe(6);
    now += 1;
    c.frame({ seq: 16 }, makeJpeg());
    await c.next('frame.ack', (m) => m.seq === 16);
    expect((await frameRows(sessionId)).map((r) => r.seq).sort((a, b) => a - b)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 16,
    ]);

    const metrics = await s.metrics.registry.getMetricsAsJSON();
    const value = (name: string, labels: Record<string, string> = {}) =>
      metrics
        .find((m) => m.name === name)
        ?.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
        .reduce((sum, v) => sum + v.value, 0);
    expect(value('ws_frames_received_total')).toBe(17);
    expect(value('ws_frames_dropped_total', { reason: 'rate_limited' })).toBe(6);
    expect(value('ws_frames_acked_total', { duplicate: 'false' })).toBe(11);
    expect(value('ws_connections')).toBe(1);
  });

  it('sheds frames as overloaded while the process has its limit of frames being stored', async () => {
    let control!: ReturnType<typeof controllable>;
    const s = await server({
      wrapBroker: (b) => (control = controllable(b)).broker,
      options: { maxInFlightTotal: 1 },
    });
    const a = await seedSession(database.db);
    const b = await seedSession(database.db);
    const first = await client(s, tokens.issue(a.candidate));
    const second = await client(s, tokens.issue(b.candidate));
    const gate = control.holdNext();
    first.frame({ seq: 0 }, makeJpeg());
    await gate.arrived;
    second.frame({ seq: 0 }, makeJpeg());
    expect(await second.next('frame.dropped')).toMatchObject({
      seq: 0,
      reason: 'overloaded',
      code: 'SERVICE_UNAVAILABLE',
      droppedTotal: 1,
    });
    gate.release();
    await first.next('frame.ack', (m) => m.seq === 0);
    await eventually(async () => (await frameRows(a.sessionId)).length === 1);
    second.frame({ seq: 0 }, makeJpeg());
    expect(await second.next('frame.ack')).toMatchObject({ seq: 0, duplicate: false });
  });

  it('refuses a frame over the size limit with FRAME_TOO_LARGE, and anything but a JPEG', async () => {
    const s = await server({ rateLimit: { wsMaxFrameBytes: 2048 } });
    const { candidate, sessionId } = await seedSession(database.db);
    const c = await client(s, tokens.issue(candidate));
    const big = makeJpeg(0, 96, 72);
    expect(big.length).toBeGreaterThan(2048);
    c.frame({ seq: 0 }, big);
    c.frame({ seq: 1 }, big, 'base64');
    c.frame({ seq: 2 }, new TextEncoder().encode('GIF89a not a jpeg'));
    expect((await c.next('error', (e) => e.seq === 0)).code).toBe('FRAME_TOO_LARGE');
    expect((await c.next('error', (e) => e.seq === 1)).code).toBe('FRAME_TOO_LARGE');
    expect((await c.next('error', (e) => e.seq === 2)).code).toBe('UNSUPPORTED_MEDIA_TYPE');
    c.frame({ seq: 3 }, makeJpeg());
    await c.next('frame.ack', (m) => m.seq === 3);
    expect((await frameRows(sessionId)).map((r) => r.seq)).toEqual([3]);
    // A message far beyond any frame is cut off by the WebSocket layer (1009, message too big).
    c.frame({ seq: 4 }, makeJpeg(0, 320, 240));
    expect(await c.whenClosed()).toBe(1009);
    expect((await frameRows(sessionId)).map((r) => r.seq)).toEqual([3]);
  });

  it('answers bad input with a code and keeps the socket open', async () => {
    const s = await server();
    const { candidate } = await seedSession(database.db);
    const c = await client(s, tokens.issue(candidate));
    c.socket.send('{not json');
    expect((await c.next('error')).code).toBe('MALFORMED_JSON');
    c.json({ type: 'launch-missiles' });
    expect((await c.next('error')).code).toBe('VALIDATION_FAILED');
    c.json({ type: 'frame', seq: -1, data: 'AAAA' });
    expect((await c.next('error')).code).toBe('VALIDATION_FAILED');
    c.json({ type: 'subscribe', sessionId: 'not-a-uuid', extra: 1 });
    expect((await c.next('error')).code).toBe('VALIDATION_FAILED');
    c.binary(new Uint8Array([0xff]));
    expect((await c.next('error')).code).toBe('VALIDATION_FAILED');
    c.binary(encodeBinaryFrame({ seq: 1 }, makeJpeg()).map((b, i) => (i === 3 ? 0x7b : b)));
    expect((await c.next('error')).code).toBe('VALIDATION_FAILED');
    c.json([1, 2, 3]);
    expect((await c.next('error')).code).toBe('VALIDATION_FAILED');
    c.json({ type: 'ping', id: 'still-there' });
    expect(await c.next('pong')).toEqual({ type: 'pong', id: 'still-there' });
  });

  it('takes frames only from the candidate of a consented or in-progress session with consent and analysis on', async () => {
    const s = await server();
    const cases = [
      [{ consent: false }, 'CONSENT_REQUIRED'],
      [{ consent: null }, 'CONSENT_REQUIRED'],
      [{ orgPolicy: 'off' }, 'FORBIDDEN'],
      [{ sessionPolicy: 'off' }, 'FORBIDDEN'],
      [{ status: 'consented', consent: false }, 'CONSENT_REQUIRED'],
      [{ status: 'consented', consent: null }, 'CONSENT_REQUIRED'],
      [{ status: 'consented', orgPolicy: 'off' }, 'FORBIDDEN'],
      [{ status: 'invited', consent: null }, 'CONFLICT'],
      [{ status: 'completed' }, 'CONFLICT'],
      [{ status: 'scored' }, 'CONFLICT'],
    ] as const;
    for (const [opts, code] of cases) {
      const seeded = await seedSession(database.db, opts);
      const c = await client(s, tokens.issue(seeded.candidate));
      c.frame({ seq: 0 }, makeJpeg());
      expect([opts, (await c.next('error', (e) => e.seq === 0)).code]).toEqual([opts, code]);
      expect(await frameRows(seeded.sessionId)).toHaveLength(0);
    }
    const a = await seedSession(database.db);
    const b = await seedSession(database.db, { orgId: a.orgId });
    const candidate = await client(s, tokens.issue(a.candidate));
    candidate.frame({ seq: 0, sessionId: b.sessionId }, makeJpeg());
    candidate.frame({ seq: 1, answerId: randomUUID() }, makeJpeg());
    expect((await candidate.next('error', (e) => e.seq === 0)).code).toBe('NOT_FOUND');
    expect((await candidate.next('error', (e) => e.seq === 1)).code).toBe('NOT_FOUND');
    const recruiter = await client(s, tokens.issue(a.recruiter));
    recruiter.frame({ seq: 0, sessionId: a.sessionId }, makeJpeg());
    expect((await recruiter.next('error', (e) => e.seq === 0)).code).toBe('FORBIDDEN');
    expect(await frameRows(a.sessionId)).toHaveLength(0);
    expect(await frameRows(b.sessionId)).toHaveLength(0);
  });

  it('takes device-check frames while the session is consented: stored, recorded and announced like any other', async () => {
    const s = await server();
    const seen = await capturedFrames(s);
    const { candidate, orgId, sessionId } = await seedSession(database.db, { status: 'consented' });
    const c = await client(s, tokens.issue(candidate));
    c.frame({ seq: 0 }, makeJpeg());
    expect(await c.next('frame.ack')).toEqual({ type: 'frame.ack', seq: 0, duplicate: false });
    const [row] = await frameRows(sessionId);
    expect(row).toMatchObject({ orgId, seq: 0 });
    expect(await s.storage.exists(row!.storageKey)).toBe(true);
    await eventually(async () => seen.length === 1);
    expect(seen[0]).toMatchObject({ sessionId, orgId, seq: 0, storageKey: row!.storageKey });
    expect(seen[0]!.answerId).toBeUndefined();

    // The device check's frame stream carries on, with the same numbering, once the interview starts.
    await database.primary
      .update(interviewSessions)
      .set({ status: 'in_progress' })
      .where(eq(interviewSessions.id, sessionId));
    c.frame({ seq: 1 }, makeJpeg());
    expect(await c.next('frame.ack')).toMatchObject({ seq: 1, duplicate: false });
  });

  it('stops taking device-check frames once the session is withdrawn', async () => {
    let now = 1_700_000_000_000;
    const s = await server({ options: { now: () => now, permissionTtlMs: 1_000 } });
    const { candidate, sessionId } = await seedSession(database.db, { status: 'consented' });
    const c = await client(s, tokens.issue(candidate));
    c.frame({ seq: 0 }, makeJpeg());
    await c.next('frame.ack');
    await database.primary
      .update(interviewSessions)
      .set({ status: 'abandoned' })
      .where(eq(interviewSessions.id, sessionId));
    now += 1_000;
    c.frame({ seq: 1 }, makeJpeg());
    expect((await c.next('error', (e) => e.seq === 1)).code).toBe('CONFLICT');
    expect(await frameRows(sessionId)).toHaveLength(1);
  });

  it('sees a consent withdrawn over HTTP on the next frames once the permission is re-read', async () => {
    let now = 1_700_000_000_000;
    const s = await server({ options: { now: () => now, permissionTtlMs: 1_000 } });
    const { candidate, orgId, sessionId } = await seedSession(database.db);
    const c = await client(s, tokens.issue(candidate));
    c.frame({ seq: 0 }, makeJpeg());
    await c.next('frame.ack');
    await database.primary.insert(consents).values({
      orgId,
      sessionId,
      kind: 'video_analysis',
      granted: false,
      textVersion: 'v1',
      recordedAt: new Date(Date.now() + 1000),
    });
    now += 1_000;
    c.frame({ seq: 1 }, makeJpeg());
    expect((await c.next('error', (e) => e.seq === 1)).code).toBe('CONSENT_REQUIRED');
    // A frame stored before the withdrawal is still acknowledged when re-sent.
    c.frame({ seq: 0 }, makeJpeg());
    expect(await c.next('frame.ack')).toMatchObject({ seq: 0, duplicate: true });
  });
});

describe('subscriptions', () => {
  it("refuses another tenant's session and another candidate's session as NOT_FOUND", async () => {
    const s = await server();
    const a = await seedSession(database.db);
    const sameOrg = await seedSession(database.db, { orgId: a.orgId });
    const otherOrg = await seedSession(database.db);
    const outsider = await client(s, tokens.issue(otherOrg.recruiter));
    outsider.json({ type: 'subscribe', sessionId: a.sessionId });
    expect(await outsider.next('error')).toMatchObject({ code: 'NOT_FOUND', sessionId: a.sessionId });
    const otherCandidate = await client(s, tokens.issue(sameOrg.candidate));
    otherCandidate.json({ type: 'subscribe', sessionId: a.sessionId });
    expect(await otherCandidate.next('error')).toMatchObject({ code: 'NOT_FOUND', sessionId: a.sessionId });
    const unknown = randomUUID();
    otherCandidate.json({ type: 'subscribe', sessionId: unknown });
    expect(await otherCandidate.next('error')).toMatchObject({ code: 'NOT_FOUND', sessionId: unknown });
    otherCandidate.json({ type: 'resume', sessionId: a.sessionId, lastAckedSeq: -1 });
    expect(await otherCandidate.next('error')).toMatchObject({ code: 'NOT_FOUND', sessionId: a.sessionId });

    // Neither hears anything about the session afterwards.
    const owner = await client(s, tokens.issue(a.recruiter));
    owner.json({ type: 'subscribe', sessionId: a.sessionId });
    await owner.next('subscribed');
    expect(await owner.next('session.state')).toMatchObject({ sessionId: a.sessionId, status: 'in_progress' });
    await s.cache.publish(EMOTION_EVENTS.emotionAnalyzed, JSON.stringify(analysis(a.orgId, a.sessionId, 0)));
    await owner.next('emotion');
    expect(outsider.all('emotion')).toHaveLength(0);
    expect(otherCandidate.all('frame.feedback')).toHaveLength(0);
  });

  it('pushes emotion results to staff in full and to the candidate as feedback, once each, from any instance', async () => {
    const cacheHub = new MemoryCacheHub();
    const one = await server({ cacheHub });
    const two = await server({ cacheHub });
    const { orgId, sessionId, recruiter, candidate } = await seedSession(database.db);
    const staff = await client(one, tokens.issue(recruiter));
    const own = await client(two, tokens.issue(candidate));
    for (const c of [staff, own]) {
      c.json({ type: 'subscribe', sessionId });
      await c.next('subscribed');
    }
    const result = analysis(orgId, sessionId, 4);
    // Published by the emotion consumer of some process, on the shared cache's pub/sub.
    await two.cache.publish(EMOTION_EVENTS.emotionAnalyzed, JSON.stringify(result));
    await one.cache.publish(EMOTION_EVENTS.emotionAnalyzed, JSON.stringify(result));
    const forged = analysis(randomUUID(), sessionId, 5);
    await one.cache.publish(EMOTION_EVENTS.emotionAnalyzed, JSON.stringify(forged));
    await one.cache.publish(EMOTION_EVENTS.emotionAnalyzed, '{"garbage":');
    const last = analysis(orgId, sessionId, 6);
    await one.cache.publish(EMOTION_EVENTS.emotionAnalyzed, JSON.stringify(last));

    expect(await staff.next('emotion')).toEqual({ type: 'emotion', sessionId, result });
    expect((await staff.next('emotion')).result.seq).toBe(6);
    expect(await own.next('frame.feedback')).toEqual({
      type: 'frame.feedback',
      sessionId,
      seq: 4,
      faceDetected: true,
      faceCount: 1,
      qualityOk: true,
      gazeAway: false,
    });
    expect((await own.next('frame.feedback')).seq).toBe(6);
    expect(staff.all('emotion')).toHaveLength(2);
    expect(own.all('emotion')).toHaveLength(0);
    expect(own.all('frame.feedback')).toHaveLength(2);

    staff.json({ type: 'unsubscribe', sessionId });
    await staff.next('unsubscribed');
    await one.cache.publish(EMOTION_EVENTS.emotionAnalyzed, JSON.stringify(analysis(orgId, sessionId, 7)));
    expect((await own.next('frame.feedback')).seq).toBe(7);
    expect(staff.all('emotion')).toHaveLength(2);
  });

  it('pushes session state changes, read from the database or announced by another process, never going back', async () => {
    const cacheHub = new MemoryCacheHub();
    const s = await server({ cacheHub, options: { sessionPollMs: 20 } });
    const other = await server({ cacheHub });
    const { orgId, sessionId, recruiter } = await seedSession(database.db);
    const staff = await client(s, tokens.issue(recruiter));
    staff.json({ type: 'subscribe', sessionId });
    expect(await staff.next('session.state')).toMatchObject({ status: 'in_progress', currentPosition: 0 });
    const write = (set: Partial<typeof interviewSessions.$inferInsert>) =>
      database.primary
        .update(interviewSessions)
        .set(set)
        .where(and(eq(interviewSessions.orgId, orgId), eq(interviewSessions.id, sessionId)));

    // A write nobody announced arrives by the poll.
    await write({ currentPosition: 1, updatedAt: new Date() });
    expect(await staff.next('session.state')).toMatchObject({ sessionId, status: 'in_progress', currentPosition: 1 });

    const completedAt = new Date();
    await write({ status: 'completed', updatedAt: completedAt });
    await announceSessionUpdates(other.cache, [
      {
        id: sessionId,
        orgId,
        status: 'completed',
        currentPosition: 1,
        updatedAt: completedAt,
      },
    ]);
    expect(await staff.next('session.state')).toMatchObject({ sessionId, status: 'completed', currentPosition: 1 });
    // An announcement older than what the view shows (crossed on the way) changes nothing…
    await announceSessionUpdates(other.cache, [
      {
        id: sessionId,
        orgId,
        status: 'in_progress',
        currentPosition: 0,
        updatedAt: new Date(completedAt.getTime() - 1000),
      },
    ]);
    // …and neither does one naming another organisation.
    await announceSessionUpdates(other.cache, [
      {
        id: sessionId,
        orgId: randomUUID(),
        status: 'abandoned',
        currentPosition: 0,
        updatedAt: new Date(),
      },
    ]);
    await s.cache.publish(EMOTION_EVENTS.emotionAnalyzed, JSON.stringify(analysis(orgId, sessionId, 1)));
    await staff.next('emotion');
    expect(staff.all('session.state').map((m) => m.status)).toEqual(['in_progress', 'in_progress', 'completed']);
  });
});

describe('reconnect and resume', () => {
  it('a frame in flight when the connection dies is stored, reported on resume, and acked once more without a duplicate', async () => {
    let control!: ReturnType<typeof controllable>;
    const s = await server({ wrapBroker: (b) => (control = controllable(b)).broker });
    const published = await capturedFrames(s);
    const { candidate, sessionId } = await seedSession(database.db);
    const token = tokens.issue(candidate);
    const first = await client(s, token);
    for (let seq = 0; seq < 3; seq++) {
      first.frame({ seq }, makeJpeg(seq));
      await first.next('frame.ack', (m) => m.seq === seq);
    }
    const gate = control.holdNext();
    first.frame({ seq: 3 }, makeJpeg(3));
    await gate.arrived;
    first.kill();
    await first.whenClosed();
    gate.release();

    const second = await client(s, token);
    second.json({ type: 'resume', sessionId, lastAckedSeq: 2 });
    // The server waits for its own in-flight frame before answering.
    expect(await second.next('resumed')).toEqual({
      type: 'resumed',
      sessionId,
      lastAckedSeq: 2,
      storedSeqs: [3],
      truncated: false,
      highestStoredSeq: 3,
    });
    expect(first.all('frame.ack').map((a) => a.seq)).toEqual([0, 1, 2]);
    second.frame({ seq: 3 }, makeJpeg(3));
    expect(await second.next('frame.ack')).toMatchObject({ seq: 3, duplicate: true });
    second.frame({ seq: 4 }, makeJpeg(4));
    expect(await second.next('frame.ack')).toMatchObject({ seq: 4, duplicate: false });
    expect((await frameRows(sessionId)).map((r) => r.seq).sort()).toEqual([0, 1, 2, 3, 4]);
    await eventually(async () => new Set(published.map((p) => p.seq)).size === 5);
  });

  it('lists what it holds after lastAckedSeq, in pages', async () => {
    const s = await server({ options: { resumeLimit: 2 } });
    const { candidate, sessionId } = await seedSession(database.db);
    const c = await client(s, tokens.issue(candidate));
    for (const seq of [0, 1, 5, 6, 9]) {
      c.frame({ seq }, makeJpeg(seq));
      await c.next('frame.ack', (m) => m.seq === seq);
    }
    c.json({ type: 'resume', sessionId, lastAckedSeq: -1 });
    expect(await c.next('resumed')).toMatchObject({ storedSeqs: [0, 1], truncated: true, highestStoredSeq: 9 });
    c.json({ type: 'resume', sessionId, lastAckedSeq: 1 });
    expect(await c.next('resumed')).toMatchObject({ storedSeqs: [5, 6], truncated: true });
    c.json({ type: 'resume', sessionId, lastAckedSeq: 6 });
    expect(await c.next('resumed')).toMatchObject({ storedSeqs: [9], truncated: false });
  });
});

describe('lifecycle', () => {
  it('tracks connections in the gauge and the ws:connections set, and stop() closes sockets as going away', async () => {
    const s = await server();
    const { candidate, recruiter } = await seedSession(database.db);
    const a = await client(s, tokens.issue(candidate));
    const b = await client(s, tokens.issue(recruiter));
    const gauge = async () => (await s.metrics.registry.getSingleMetric('ws_connections')!.get()).values[0]?.value;
    expect(await gauge()).toBe(2);
    expect(await s.cache.smembers('ws:connections')).toHaveLength(2);
    await b.close();
    await eventually(async () => (await gauge()) === 1);
    await eventually(async () => (await s.cache.smembers('ws:connections')).length === 1);
    await s.module.stop();
    expect(await a.whenClosed()).toBe(1001);
    expect(await gauge()).toBe(0);
  });

  it('terminates a socket that stops answering pings', async () => {
    const s = await server({ options: { heartbeatMs: 20 } });
    const { candidate } = await seedSession(database.db);
    const c = await client(s, tokens.issue(candidate));
    const gauge = async () => (await s.metrics.registry.getSingleMetric('ws_connections')!.get()).values[0]?.value;
    expect(await gauge()).toBe(1);
    // Stop answering: the ws client replies to pings by itself unless its socket is paused.
    c.socket.pause();
    await eventually(async () => (await gauge()) === 0);
    c.socket.resume();
    expect(await c.whenClosed()).toBe(1006);
  });
});

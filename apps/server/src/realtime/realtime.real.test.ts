import { randomUUID } from 'node:crypto';
import { EMOTION_EVENTS, type TEmotionAnalyzed } from '@parley/contracts';
import { and, eq } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisCache } from '../infra/cache/redis-cache.ts';
import type { PgliteDatabase } from '../infra/db/pglite-database.ts';
import { interviewSessions } from '../infra/db/schema.ts';
import { createTestDatabase } from '../infra/db/testing.ts';
import { REAL, realService } from '../shared/testing/real-services.ts';
import { RetentionService } from '../workers/index.ts';
import { createLogger } from '../infra/log.ts';
// eslint-disable-next-line no-restricted-imports -- the interviews context's test factories drive real sessions
import { createHarness, invitedSession, type Harness } from '../interviews/testing.ts';
import { announceSessionUpdates } from '../interviews/index.ts';
import { seedSession, startRealtimeServer, TestClient, TokenTable, type RealtimeServer } from './testing.ts';

// Two realtime "processes", each with its own Redis connection, sharing one Redis as a split
// deployment does: an update published through either reaches sockets held by the other.
const prefix = `parley-test:${randomUUID().slice(0, 8)}:`;
const tokens = new TokenTable();
let database: PgliteDatabase;
let one: RealtimeServer;
let two: RealtimeServer;
/** An interview "process" on the same database and Redis. */
let interviews: Harness;

beforeAll(async () => {
  await realService('Redis', REAL.redisUrl);
  database = await createTestDatabase();
  const start = () =>
    startRealtimeServer({
      database,
      authenticate: tokens.authenticate,
      cache: new RedisCache({ url: REAL.redisUrl, keyPrefix: prefix }),
      // No poll within a test's lifetime: whatever arrives was pushed.
      options: { sessionPollMs: 3_600_000 },
    });
  one = await start();
  two = await start();
  interviews = await createHarness({ database, cache: new RedisCache({ url: REAL.redisUrl, keyPrefix: prefix }) });
});

afterAll(async () => {
  await interviews?.close();
  await one?.close();
  await two?.close();
  await database?.close();
  const admin = new Redis(REAL.redisUrl, { maxRetriesPerRequest: 1 });
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length) await admin.del(...keys);
  await admin.quit();
});

describe('realtime fan-out over Redis', () => {
  it('delivers emotion results and state changes published by one process to sockets on the other', async () => {
    const { orgId, sessionId, recruiter, candidate } = await seedSession(database.db);
    const staff = await TestClient.authenticated(one.wsUrl, tokens.issue(recruiter));
    const own = await TestClient.authenticated(two.wsUrl, tokens.issue(candidate));
    for (const c of [staff, own]) {
      c.json({ type: 'subscribe', sessionId });
      await c.next('subscribed');
    }
    const result: TEmotionAnalyzed = {
      analysisId: randomUUID(),
      sessionId,
      orgId,
      answerId: null,
      frameId: randomUUID(),
      seq: 0,
      capturedAt: 1_700_000_000_000,
      status: 'ok',
      errorCode: null,
      faceDetected: true,
      faceCount: 1,
      emotion: 'neutral',
      confidence: 0.9,
      probabilities: { angry: 0, disgust: 0, fear: 0, happy: 0.05, sad: 0.05, surprise: 0, neutral: 0.9 },
      ear: 0.3,
      blinksInFrame: 0,
      sessionBlinks: 0,
      headPose: null,
      gazeAway: null,
      qualityOk: true,
    };
    await two.cache.publish(EMOTION_EVENTS.emotionAnalyzed, JSON.stringify(result));
    expect(await staff.next('emotion')).toEqual({ type: 'emotion', sessionId, result });
    expect((await own.next('frame.feedback')).seq).toBe(0);

    await database.primary
      .update(interviewSessions)
      .set({ status: 'completed', currentPosition: 2 })
      .where(and(eq(interviewSessions.orgId, orgId), eq(interviewSessions.id, sessionId)));
    await announceSessionUpdates(one.cache, [
      { id: sessionId, orgId, status: 'completed', currentPosition: 2, updatedAt: new Date() },
    ]);
    expect(await own.next('session.state', (m) => m.status === 'completed')).toMatchObject({ currentPosition: 2 });
    expect(await staff.next('session.state', (m) => m.status === 'completed')).toMatchObject({ currentPosition: 2 });

    expect(await one.cache.smembers('ws:connections')).toHaveLength(2);
    await staff.close();
    await own.close();
  });
});

describe('session updates pushed, not polled', () => {
  it("a recruiter's live view on one realtime process and the candidate's on the other hear /next, /complete and an expiry by retention", async () => {
    const { recruiter } = await interviews.org('Pushed');
    const s = await invitedSession(interviews, recruiter, { questions: 2 });
    const sessions = interviews.module.sessions;
    await sessions.consent(s.candidate, s.sessionId, {
      aiNotice: true,
      recording: true,
      videoAnalysis: true,
      textVersion: 'v1',
    });
    await sessions.start(s.candidate, s.sessionId);
    const staff = await TestClient.authenticated(one.wsUrl, tokens.issue(recruiter));
    const own = await TestClient.authenticated(two.wsUrl, tokens.issue(s.candidate));
    for (const c of [staff, own]) {
      c.json({ type: 'subscribe', sessionId: s.sessionId });
      expect(await c.next('session.state')).toMatchObject({ status: 'in_progress', currentPosition: 0 });
    }

    await sessions.next(s.candidate, s.sessionId, 0);
    for (const c of [staff, own]) {
      expect(await c.next('session.state')).toMatchObject({ status: 'in_progress', currentPosition: 1 });
    }
    await sessions.complete(s.candidate, s.sessionId);
    for (const c of [staff, own]) {
      expect(await c.next('session.state')).toMatchObject({ status: 'completed', currentPosition: 1 });
    }

    // A worker process expiring an open session by SQL announces it too.
    const deadline = new Date(interviews.clock.now().getTime() + 3600_000).toISOString();
    const late = await invitedSession(interviews, recruiter, { questions: 1, deadline });
    staff.json({ type: 'subscribe', sessionId: late.sessionId });
    expect(await staff.next('session.state', (m) => m.sessionId === late.sessionId)).toMatchObject({
      status: 'invited',
    });
    const worker = new RedisCache({ url: REAL.redisUrl, keyPrefix: prefix });
    try {
      const retention = new RetentionService({
        database,
        storage: interviews.storage,
        logger: createLogger({ level: 'silent' }),
        cache: worker,
        clock: () => new Date(interviews.clock.now().getTime() + 2 * 3600_000),
      });
      await retention.expireSessions();
    } finally {
      await worker.close();
    }
    expect(await staff.next('session.state', (m) => m.sessionId === late.sessionId)).toMatchObject({
      status: 'expired',
    });
    await staff.close();
    await own.close();
  });
});

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
import { publishSessionUpdate } from './index.ts';
import { seedSession, startRealtimeServer, TestClient, TokenTable, type RealtimeServer } from './testing.ts';

// Two realtime "processes", each with its own Redis connection, sharing one Redis as a split
// deployment does: an update published through either reaches sockets held by the other.
const prefix = `parley-test:${randomUUID().slice(0, 8)}:`;
const tokens = new TokenTable();
let database: PgliteDatabase;
let one: RealtimeServer;
let two: RealtimeServer;

beforeAll(async () => {
  await realService('Redis', REAL.redisUrl);
  database = await createTestDatabase();
  const start = () =>
    startRealtimeServer({
      database,
      authenticate: tokens.authenticate,
      cache: new RedisCache({ url: REAL.redisUrl, keyPrefix: prefix }),
    });
  one = await start();
  two = await start();
});

afterAll(async () => {
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
    await publishSessionUpdate(one.cache, { sessionId, orgId, status: 'completed', currentPosition: 2 });
    expect(await own.next('session.state', (m) => m.status === 'completed')).toMatchObject({ currentPosition: 2 });
    expect(await staff.next('session.state', (m) => m.status === 'completed')).toMatchObject({ currentPosition: 2 });

    expect(await one.cache.smembers('ws:connections')).toHaveLength(2);
    await staff.close();
    await own.close();
  });
});

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PgliteDatabase } from '../infra/db/pglite-database.ts';
import { emotionAnalysis, interviews, interviewSessions, organizations, users } from '../infra/db/schema.ts';
import { createTestDatabase } from '../infra/db/testing.ts';
import { ScoringRepository } from './scoring.repository.ts';

let database: PgliteDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.close();
});

const STARTED = new Date('2026-11-29T10:00:00.000Z');
const at = (seconds: number) => new Date(STARTED.getTime() + seconds * 1000);

async function session(startedAt: Date | null) {
  const db = database.primary;
  const [org] = await db.insert(organizations).values({ name: 'Acme' }).returning();
  const orgId = org!.id;
  const [candidate] = await db
    .insert(users)
    .values({ orgId, email: `${randomUUID()}@example.com`, role: 'candidate' })
    .returning();
  const [interview] = await db.insert(interviews).values({ orgId, title: 'Backend' }).returning();
  const [s] = await db
    .insert(interviewSessions)
    .values({ orgId, interviewId: interview!.id, candidateId: candidate!.id, status: 'completed', startedAt })
    .returning();
  const frame = (source: 'stream' | 'video', seq: number, ts: Date) =>
    db.insert(emotionAnalysis).values({
      orgId,
      sessionId: s!.id,
      source,
      frameSeq: seq,
      frameTs: ts,
      faceDetected: true,
      emotion: 'neutral',
    });
  return { orgId, sessionId: s!.id, frame };
}

describe('the emotion frames that scoring reads', () => {
  it('leave out the device check: live frames captured before the session started', async () => {
    const s = await session(STARTED);
    await s.frame('stream', 0, at(-20));
    await s.frame('stream', 1, at(-10));
    await s.frame('stream', 2, at(1));
    await s.frame('stream', 3, at(2));
    const frames = await new ScoringRepository(database).emotionFrames(s.orgId, s.sessionId);
    expect(frames.map((f) => f.frameTs)).toEqual([at(1), at(2)]);
  });

  it('fall back to the recordings’ batch analysis when only device-check frames were streamed', async () => {
    const s = await session(STARTED);
    await s.frame('stream', 0, at(-5));
    await s.frame('video', 0, at(3));
    const frames = await new ScoringRepository(database).emotionFrames(s.orgId, s.sessionId);
    expect(frames.map((f) => f.frameTs)).toEqual([at(3)]);
  });
});

import { SESSION_UPDATES_CHANNEL, ZSessionUpdate, type TSessionUpdate, type TSessionView } from '@parley/contracts';
import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCache } from '../infra/cache/memory-cache.ts';
import { answers, interviewSessions } from '../infra/db/schema.ts';
import { createLogger } from '../infra/log.ts';
import type { Actor, StaffActor } from '../shared/actor.ts';
import { RetentionService } from '../workers/index.ts';
import { sessionCacheKey, sessionFenceKey } from './session-cache.ts';
import { createHarness, invitedSession, type Harness } from './testing.ts';

const consentAll = { aiNotice: true as const, recording: true, videoAnalysis: true, textVersion: 'v1' };

/**
 * A cache whose next `set` of one key waits for `before()` to finish first: the reader that
 * stores the snapshot has read the database, and `before` is a write landing in between.
 */
class InterposingCache extends MemoryCache {
  private pending: { key: string; before: () => Promise<void> } | undefined;

  interpose(key: string, before: () => Promise<void>): void {
    this.pending = { key, before };
  }

  override async set(key: string, value: string, ttlSeconds?: number): Promise<void> {
    const pending = this.pending;
    if (pending?.key === key) {
      this.pending = undefined;
      await pending.before();
    }
    return super.set(key, value, ttlSeconds);
  }
}

let h: Harness;
let cache: InterposingCache;
let recruiter: StaffActor;
const announced: TSessionUpdate[] = [];

beforeAll(async () => {
  cache = new InterposingCache();
  h = await createHarness({ cache });
  ({ recruiter } = await h.org('Acme'));
  await cache.subscribe(SESSION_UPDATES_CHANNEL, (json) => announced.push(ZSessionUpdate.parse(JSON.parse(json))));
});
afterAll(async () => h.close());

async function started(options: Parameters<typeof invitedSession>[2] = {}) {
  const s = await invitedSession(h, recruiter, { questions: 3, ...options });
  await h.module.sessions.consent(s.candidate, s.sessionId, consentAll);
  await h.module.sessions.start(s.candidate, s.sessionId);
  return s;
}

/** Reads the session once its last write's fence has lapsed, so that the read is cached. */
async function cachedView(actor: Actor, sessionId: string): Promise<TSessionView> {
  await cache.del(sessionFenceKey(sessionId));
  const view = await h.module.sessions.view(actor, sessionId);
  expect(await cache.get(sessionCacheKey(sessionId))).not.toBeNull();
  return view;
}

/** What was announced for the session, once deliveries already on their way have arrived. */
async function announcedFor(sessionId: string): Promise<string[]> {
  await new Promise((resolve) => setImmediate(resolve));
  return announced.filter((u) => u.sessionId === sessionId).map((u) => `${u.status}@${u.currentPosition}`);
}

/** The retention service as a worker process holds it: its own client of the same cache (Redis). */
function workerRetention(clock?: () => Date): RetentionService {
  return new RetentionService({
    database: h.database,
    storage: h.storage,
    logger: createLogger({ level: 'silent' }),
    cache,
    clock,
  });
}

describe('session:{id} cache', () => {
  it('keeps the hot read and shows a state change at once', async () => {
    const s = await started();
    // Just written (start): a read is not cached while the write's fence stands…
    expect((await h.module.sessions.view(s.candidate, s.sessionId)).current?.position).toBe(0);
    expect(await cache.get(sessionCacheKey(s.sessionId))).toBeNull();
    // …and is once it has lapsed.
    await cache.del(sessionFenceKey(s.sessionId));
    await h.module.sessions.view(s.candidate, s.sessionId);
    expect(await cache.get(sessionCacheKey(s.sessionId))).not.toBeNull();
    // Served from the cache: a change that bypasses the repository (which no code does) is not seen.
    await h.database.primary
      .update(interviewSessions)
      .set({ settings: { language: 'de' } })
      .where(eq(interviewSessions.id, s.sessionId));
    expect((await h.module.sessions.view(s.candidate, s.sessionId)).language).toBe('en');

    const moved = await h.module.sessions.next(s.candidate, s.sessionId, 0);
    expect(moved.current?.position).toBe(1);
    expect((await h.module.sessions.view(s.candidate, s.sessionId)).current).toMatchObject({ position: 1, attempt: 1 });
    await h.module.sessions.submitText(s.candidate, s.sessionId, 1, 'An answer.');
    expect((await h.module.sessions.view(recruiter, s.sessionId)).current).toMatchObject({
      position: 1,
      hasText: true,
    });
  });

  it('shows a session expired by retention (another process, direct SQL) at once', async () => {
    const deadline = new Date(h.clock.now().getTime() + 3600_000).toISOString();
    const s = await started({ deadline });
    expect((await cachedView(recruiter, s.sessionId)).status).toBe('in_progress');
    const retention = workerRetention(() => new Date(h.clock.now().getTime() + 2 * 3600_000));
    const report = await retention.expireSessions();
    expect(report.sessions).toContainEqual({ orgId: recruiter.orgId, sessionId: s.sessionId });
    // The service's clock is still before the deadline: only the invalidation can show this.
    expect((await h.module.sessions.view(recruiter, s.sessionId)).status).toBe('expired');
    expect((await announcedFor(s.sessionId)).at(-1)).toBe('expired@0');
  });

  it('forgets a session erased by retention (another process): the candidate’s data is gone, cached or not', async () => {
    const s = await started();
    expect((await cachedView(recruiter, s.sessionId)).status).toBe('in_progress');
    const retention = workerRetention();
    const report = await retention.eraseCandidate({ orgId: recruiter.orgId, candidateId: s.candidate.userId });
    expect(report.sessions).toEqual([s.sessionId]);
    expect(await cache.get(sessionCacheKey(s.sessionId))).toBeNull();
    await expect(h.module.sessions.view(recruiter, s.sessionId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('a reader that read before a write cannot leave its older copy in the cache', async () => {
    const s = await started();
    await cache.del(sessionCacheKey(s.sessionId));
    // The view reads the database (question 1), then the candidate moves on before it stores that.
    cache.interpose(sessionCacheKey(s.sessionId), async () => {
      await h.module.sessions.next(s.candidate, s.sessionId, 0);
    });
    const racing = await h.module.sessions.view(recruiter, s.sessionId);
    expect(racing.current?.position).toBe(0);
    expect((await h.module.sessions.view(recruiter, s.sessionId)).current?.position).toBe(1);
  });

  it('a stale cached copy cannot let a wrong write through: each is refused on the database', async () => {
    const s = await started({ retakes: 2 });
    const key = sessionCacheKey(s.sessionId);
    await h.module.sessions.view(s.candidate, s.sessionId);
    const stale = (await cache.get(key))!;
    await h.module.sessions.next(s.candidate, s.sessionId, 0);
    const restoreStale = () => cache.set(key, stale, 7200);

    await restoreStale();
    await expect(h.module.sessions.submitText(s.candidate, s.sessionId, 0, 'Too late')).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { currentPosition: 1 },
    });
    await restoreStale();
    await expect(h.module.sessions.retake(s.candidate, s.sessionId, 0)).rejects.toMatchObject({ code: 'CONFLICT' });
    await restoreStale();
    await expect(h.module.sessions.next(s.candidate, s.sessionId, 0)).rejects.toMatchObject({ code: 'CONFLICT' });
    const atFirst = await h.database.primary
      .select()
      .from(answers)
      .where(and(eq(answers.sessionId, s.sessionId), eq(answers.position, 0)));
    expect(atFirst).toHaveLength(1);
    expect(atFirst[0]!.textAnswer).toBeNull();
    expect((await h.module.sessions.view(s.candidate, s.sessionId)).current?.position).toBe(1);
  });

  it('a stale copy of the timers cannot stretch a deadline the candidate already shortened', async () => {
    const s = await started();
    const key = sessionCacheKey(s.sessionId);
    // In preparation (30 s), the answer window would close at 30 + 60 s.
    await h.module.sessions.view(s.candidate, s.sessionId);
    const stale = (await cache.get(key))!;
    // Answering early starts the 60 s window now.
    await h.module.sessions.beginAnswer(s.candidate, s.sessionId, 0);
    await cache.set(key, stale, 7200);
    h.clock.advance(70);
    await expect(h.module.sessions.submitText(s.candidate, s.sessionId, 0, 'Late')).rejects.toMatchObject({
      code: 'TIME_LIMIT_EXCEEDED',
    });
    await cache.set(key, stale, 7200);
    await expect(h.module.sessions.beginAnswer(s.candidate, s.sessionId, 0)).resolves.toMatchObject({
      current: { phase: 'closed' },
    });
  });

  it('an edited interview title reaches the cached sessions', async () => {
    const s = await started();
    await cachedView(s.candidate, s.sessionId);
    await h.module.interviews.update(recruiter, s.interviewId, { title: 'Staff engineer' });
    expect((await h.module.sessions.view(s.candidate, s.sessionId)).title).toBe('Staff engineer');
  });

  it('answers another tenant asking by id with NOT_FOUND, cached or not', async () => {
    const s = await started();
    const { recruiter: other } = await h.org('Globex');
    await cachedView(recruiter, s.sessionId);
    await expect(h.module.sessions.view(other, s.sessionId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('session updates for live views', () => {
  it('announces every committed change of status or question, and nothing for a refused one', async () => {
    const s = await invitedSession(h, recruiter, { questions: 2, retakes: 1 });
    await h.module.sessions.consent(s.candidate, s.sessionId, consentAll);
    await h.module.sessions.start(s.candidate, s.sessionId);
    await h.module.sessions.retake(s.candidate, s.sessionId, 0);
    await h.module.sessions.next(s.candidate, s.sessionId, 0);
    await expect(h.module.sessions.next(s.candidate, s.sessionId, 0)).rejects.toMatchObject({ code: 'CONFLICT' });
    await h.module.sessions.complete(s.candidate, s.sessionId);
    await h.module.sessions.advanceScoring(recruiter.orgId, s.sessionId, 'scoring');
    await h.module.sessions.advanceScoring(recruiter.orgId, s.sessionId, 'scored');
    expect(await announcedFor(s.sessionId)).toEqual([
      'consented@0',
      'in_progress@0',
      'in_progress@1',
      'completed@1',
      'scoring@1',
      'scored@1',
    ]);

    const abandoned = await started();
    await h.module.sessions.abandon(recruiter, abandoned.sessionId);
    expect((await announcedFor(abandoned.sessionId)).at(-1)).toBe('abandoned@0');
  });

  it('announces a session expired by a revoked invitation', async () => {
    const s = await invitedSession(h, recruiter, { questions: 1 });
    const [pending] = await h.module.invitations.invite(recruiter, s.interviewId, {
      candidates: [{ name: 'Dana', email: `dana-${randomUUID()}@example.test` }],
    });
    await h.module.invitations.revoke(recruiter, pending!.id);
    expect(await announcedFor(pending!.sessionId!)).toEqual(['expired@0']);
  });

  it('a failed announcement does not fail the committed change', async () => {
    class FailingPublish extends MemoryCache {
      override async publish(): Promise<void> {
        throw new Error('cache unreachable');
      }
    }
    const other = await createHarness({ database: h.database, cache: new FailingPublish() });
    try {
      const { recruiter: r } = await other.org('Initech');
      const s = await invitedSession(other, r, { questions: 1 });
      await expect(other.module.sessions.consent(s.candidate, s.sessionId, consentAll)).resolves.toMatchObject({
        status: 'consented',
      });
    } finally {
      await other.close();
    }
  });
});

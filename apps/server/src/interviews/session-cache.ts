import { SESSION_UPDATES_CHANNEL, ZSessionUpdate, type TSessionStatus } from '@parley/contracts';
import type { Cache } from '../infra/cache/cache.ts';
import type { Logger } from '../infra/log.ts';

/** The design's cache strategy: a session's hot read is kept for two hours, dropped on every write. */
export const SESSION_CACHE_TTL_SECONDS = 2 * 3600;

/**
 * How long a write keeps readers from caching what they read. A reader that read the database
 * before the write committed checks this mark after storing its copy and drops the copy when the
 * mark is there, so the mark must outlive the write's transaction plus one reader's round trip.
 */
export const SESSION_WRITE_FENCE_SECONDS = 10;

export const sessionCacheKey = (sessionId: string): string => `session:${sessionId}`;
export const sessionFenceKey = (sessionId: string): string => `session:${sessionId}:writing`;

/**
 * Every writer of sessions, answers or consents goes through here, whichever context it is in:
 * marks the sessions as being written, runs `write`, then drops their cached reads. Written this
 * way, a reader racing the write can never leave a copy older than the write in the cache (see
 * `SessionRepository.snapshot`). A failure to mark fails the write before anything is changed.
 */
export async function writingSessions<T>(
  cache: Cache,
  sessionIds: readonly string[],
  write: () => Promise<T>,
): Promise<T> {
  const ids = [...new Set(sessionIds)];
  if (ids.length === 0) return write();
  await Promise.all(ids.map((id) => cache.set(sessionFenceKey(id), '1', SESSION_WRITE_FENCE_SECONDS)));
  try {
    return await write();
  } finally {
    await cache.del(...ids.map(sessionCacheKey));
  }
}

/** What realtime instances need to tell live views; `at` orders it against other updates. */
export interface SessionUpdate {
  id: string;
  orgId: string;
  status: TSessionStatus;
  currentPosition: number;
  /** When the change was written (the row's `updated_at`). */
  updatedAt: Date;
}

/**
 * Announces committed state changes on the cache's pub/sub (`SESSION_UPDATES_CHANNEL`), where
 * every realtime instance listens. Call after the commit: a live view must never see a state
 * that is rolled back.
 */
export async function announceSessionUpdates(cache: Cache, updates: readonly SessionUpdate[]): Promise<void> {
  await Promise.all(
    updates.map((u) =>
      cache.publish(
        SESSION_UPDATES_CHANNEL,
        JSON.stringify(
          ZSessionUpdate.parse({
            sessionId: u.id,
            orgId: u.orgId,
            status: u.status,
            currentPosition: u.currentPosition,
            at: u.updatedAt.toISOString(),
          }),
        ),
      ),
    ),
  );
}

/**
 * Announces on behalf of the interviews context. Best effort after the commit: the change is
 * already made, so a failed publish is logged, not thrown (live views pick the change up on their
 * next poll of the database).
 */
export class SessionAnnouncer {
  constructor(
    private readonly cache: Cache,
    private readonly logger: Logger,
  ) {}

  async announce(...rows: SessionUpdate[]): Promise<void> {
    try {
      await announceSessionUpdates(this.cache, rows);
    } catch (err) {
      this.logger.warn({ err, sessions: rows.map((r) => r.id) }, 'announcing a session update failed');
    }
  }
}

import { createHash } from 'node:crypto';
import type { Cache } from '../infra/cache/cache.ts';
import { requireStaff, type Actor, type StaffActor } from '../shared/actor.ts';
import type { MediaRepository } from './media.repository.ts';
import type { MediaTokens } from './media.service.ts';

/** Writes a row of the organisation's audit log (the accounts context's `AccountsService` fits). */
export interface AuditLog {
  audit(entry: {
    orgId: string;
    actorId: string;
    action: string;
    targetType: string;
    targetId: string;
    ip?: string;
    metadata: Record<string, unknown>;
  }): Promise<void>;
}

const RECORDING_VIEWED = 'recording.viewed';

/**
 * Puts `recording.viewed` in the audit log: which staff member opened which answer's recording
 * (its video or its poster frame), and when.
 *
 * Written on the first byte request a media URL makes, and not again while that URL lives; for an
 * API client with a bearer token, on the first request of each staff member for each answer in such
 * a window. Not one row per request: a `<video>` asks for many byte ranges (each seek, each buffer
 * refill) and would bury the log. Not when the recordings list hands out the URLs: a list is not
 * a view (an API client may only want the word timings, a URL may never be opened), and the
 * bytes can be fetched without one. So a row means that person asked for the candidate's media and
 * was allowed it. The review page preloads each recording's metadata, so opening it counts as
 * viewing every recording it shows; opening it again lists fresh URLs and writes fresh rows.
 *
 * "Already written" is a counter in the cache port, shared by every interview instance (the
 * gateway spreads a video's ranges over them). A lost counter means a second row, never none; when
 * the row cannot be written the claim is withdrawn and the request fails, so no media is served
 * unaudited on that request.
 */
export class RecordingViews {
  constructor(
    private readonly cache: Cache,
    private readonly tokens: MediaTokens,
    private readonly log: AuditLog,
    private readonly repo: MediaRepository,
    /** At least as long as a media URL lives (with clock skew). */
    private readonly windowSeconds: number,
  ) {}

  /**
   * Call once the media was authorised and found, before any byte is sent. `caller` is the
   * request's actor; `token` the media URL's token when the request carried one.
   */
  async record(caller: Actor, answerId: string, token: string | undefined): Promise<void> {
    const key = token
      ? `recording-viewed:url:${sha256(token)}`
      : `recording-viewed:staff:${staffOf(caller).userId}:${answerId}`;
    const { count } = await this.cache.incr(key, this.windowSeconds);
    if (count > 1) return;
    try {
      // The media service already checked the token; this second look, once per URL, names its owner.
      const viewer = token
        ? await this.tokens.authenticateMedia(token, `answer:${answerId}`, caller.ip)
        : staffOf(caller);
      const row = await this.repo.recording(viewer.orgId, answerId);
      await this.log.audit({
        orgId: viewer.orgId,
        actorId: viewer.userId,
        action: RECORDING_VIEWED,
        targetType: 'answer',
        targetId: answerId,
        ip: caller.ip,
        metadata: {
          sessionId: row?.sessionId,
          position: row?.position,
          attempt: row?.attempt,
          via: token ? 'media_url' : 'bearer',
        },
      });
    } catch (error) {
      await this.cache.del(key).catch(() => undefined);
      throw error;
    }
  }
}

function staffOf(actor: Actor): StaffActor {
  requireStaff(actor);
  return actor;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');

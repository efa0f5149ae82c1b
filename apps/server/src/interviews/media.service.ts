import type { TSessionRecordings } from '@parley/contracts';
import type { Readable } from 'node:stream';
import { parseByteRange, type ByteRange } from '../infra/http/byte-range.ts';
import type { ByteSpan, Storage } from '../infra/storage/storage.ts';
import { requireStaff, type Actor, type StaffActor } from '../shared/actor.ts';
import { AppError } from '../shared/app-error.ts';
import type { Clock } from './clock.ts';
import type { MediaRepository, RecordingRow } from './media.repository.ts';

/**
 * Signed media URLs (the accounts context's `AccountsService` fits).
 *
 * Why URLs and not a fetch with the bearer token: `<video src>` cannot send an Authorization
 * header, and downloading a whole recording into a blob first means waiting for every byte before
 * the first frame and holding it all in memory. A media token names one answer, belongs to one
 * staff member (revoked with their sign-in), lives minutes, and cannot be used as an access token;
 * with it the browser streams and seeks with ordinary Range requests. The access token itself is
 * never put in a URL, where logs and history would keep the key to the whole API.
 */
export interface MediaTokens {
  issueMediaToken(actor: StaffActor, resource: string, ttlSeconds: number): Promise<{ token: string; expiresAt: Date }>;
  authenticateMedia(token: string, resource: string, ip?: string): Promise<StaffActor>;
}

export interface MediaSettings {
  /** How long the URLs of a recordings list work. */
  mediaUrlTtlSeconds: number;
}

export type MediaKind = 'recording' | 'poster';

/** What to send for one request of a recording or poster. */
export interface MediaContent {
  contentType: string;
  /** Bytes in the whole file. */
  size: number;
  /** The `Range` header resolved against `size`: the whole file (200), one range (206), or none (416). */
  range: ByteRange;
  /**
   * The bytes of `range` (none when unsatisfiable), fetched and decrypted while they are sent.
   * Nothing is read before the stream is; destroy it when it will not be sent. It errors with
   * `INTEGRITY_CHECK_FAILED` before yielding any byte of a tampered part.
   */
  body: Readable;
}

/**
 * Staff playback of answer recordings: the list with word timings, and the bytes behind its URLs.
 * A `<video>` asks for many ranges of the same file; storage reads each from the few encrypted
 * segments that hold it, so nothing is kept decrypted between requests (and every instance serves
 * any range at the same cost).
 */
export class MediaService {
  constructor(
    private readonly repo: MediaRepository,
    private readonly storage: Storage,
    private readonly tokens: MediaTokens,
    private readonly clock: Clock,
    private readonly settings: MediaSettings,
  ) {}

  async listRecordings(actor: Actor, sessionId: string): Promise<TSessionRecordings> {
    requireStaff(actor);
    const rows = await this.repo.sessionRecordings(actor.orgId, sessionId);
    if (!rows) throw new AppError('NOT_FOUND', 'Session not found');
    let urlsExpireAt = new Date(this.clock().getTime() + this.settings.mediaUrlTtlSeconds * 1000);
    const recordings = await Promise.all(
      rows.map(async (row) => {
        const { token, expiresAt } = await this.tokens.issueMediaToken(
          actor,
          resourceOf(row.answerId),
          this.settings.mediaUrlTtlSeconds,
        );
        if (expiresAt < urlsExpireAt) urlsExpireAt = expiresAt;
        const served = servedFile(row);
        const query = `?token=${encodeURIComponent(token)}`;
        return {
          answerId: row.answerId,
          position: row.position,
          attempt: row.attempt,
          isPractice: row.isPractice,
          source: served.transcoded ? ('transcoded' as const) : ('original' as const),
          processing: row.media?.status ?? null,
          contentType: served.contentType,
          durationMs: row.media?.durationMs ?? row.durationMs,
          width: served.transcoded ? (row.media?.width ?? null) : null,
          height: served.transcoded ? (row.media?.height ?? null) : null,
          url: `/api/answers/${row.answerId}/recording${query}`,
          posterUrl: posterKey(row) ? `/api/answers/${row.answerId}/poster${query}` : null,
          transcript: row.transcript,
          transcriptSource: row.transcriptSource,
          words: (row.words ?? []).map((w) => ({
            word: w.word,
            startMs: Math.max(0, w.startMs),
            endMs: Math.max(0, w.endMs),
            ...(w.confidence !== undefined ? { confidence: Math.min(1, Math.max(0, w.confidence)) } : {}),
          })),
        };
      }),
    );
    return { recordings, urlsExpireAt: urlsExpireAt.toISOString() };
  }

  /**
   * The recording (the transcoded MP4 once ready, else the upload as it arrived) or its poster.
   * With a media token the caller is whoever it was issued to; otherwise the bearer's actor.
   */
  async read(
    actor: Actor,
    answerId: string,
    kind: MediaKind,
    rangeHeader: string | undefined,
    token?: string,
  ): Promise<MediaContent> {
    const file = await this.locate(actor, answerId, kind, token);
    let range: ByteRange | undefined;
    const stored = await this.storage.getRange(file.key, (size) =>
      spanOf((range = parseByteRange(rangeHeader, size)), size),
    );
    return {
      contentType: file.contentType,
      size: stored.size,
      range: range ?? parseByteRange(rangeHeader, stored.size),
      body: stored.body,
    };
  }

  /** The storage key and served type behind a media URL, once the caller is allowed to see it. */
  private async locate(
    actor: Actor,
    answerId: string,
    kind: MediaKind,
    token: string | undefined,
  ): Promise<{ key: string; contentType: string }> {
    const who = token
      ? await this.tokens.authenticateMedia(
          token,
          resourceOf(answerId),
          actor.kind === 'anonymous' ? actor.ip : undefined,
        )
      : actor;
    requireStaff(who);
    const row = await this.repo.recording(who.orgId, answerId);
    if (!row) throw new AppError('NOT_FOUND', 'Recording not found');
    if (kind === 'poster') {
      const key = posterKey(row);
      if (!key) throw new AppError('NOT_FOUND', 'This recording has no poster (yet)');
      return { key, contentType: 'image/jpeg' };
    }
    return servedFile(row);
  }
}

/** The bytes a resolved range asks storage for: all of them for a 200, none for a 416. */
function spanOf(range: ByteRange, size: number): ByteSpan | undefined {
  if (range.kind === 'partial') return { start: range.start, end: range.end };
  if (range.kind === 'whole' && size > 0) return { start: 0, end: size - 1 };
  return undefined;
}

const resourceOf = (answerId: string) => `answer:${answerId}`;

/** The MP4 only when it was made from the answer's current recording and processing finished. */
function servedFile(row: RecordingRow): { key: string; contentType: string; transcoded: boolean } {
  const m = row.media;
  if (m && m.status === 'ready' && m.videoKey && m.sourceKey === row.mediaKey) {
    return { key: m.videoKey, contentType: 'video/mp4', transcoded: true };
  }
  return { key: row.mediaKey, contentType: uploadType(row.mediaContentType), transcoded: false };
}

/** The type the candidate's browser declared, served back only when it is plainly audio or video. */
function uploadType(declared: string | null): string {
  const type = declared?.trim() ?? '';
  return /^(audio|video)\/[\w.+-]+(\s*;\s*[\w-]+=("[\w.,+ -]*"|[\w.,+-]+))*$/i.test(type)
    ? type
    : 'application/octet-stream';
}

function posterKey(row: RecordingRow): string | null {
  const m = row.media;
  return m && m.status === 'ready' && m.sourceKey === row.mediaKey ? m.posterKey : null;
}

import { z } from 'zod';

/**
 * Recording playback for staff. `GET /api/sessions/{id}/recordings` lists a session's recorded
 * answers with their word timings and short-lived media URLs; the URLs point at
 * `GET /api/answers/{answerId}/recording` and `…/poster`, which also take a staff bearer token.
 */

/** One transcribed word; times are milliseconds from the start of the recording. */
export const ZTimedWord = z.object({
  word: z.string(),
  startMs: z.number().min(0),
  endMs: z.number().min(0),
  confidence: z.number().min(0).max(1).optional(),
});
export type TTimedWord = z.infer<typeof ZTimedWord>;

export const ZRecording = z.object({
  answerId: z.uuid(),
  position: z.int().min(0),
  attempt: z.int().min(1),
  isPractice: z.boolean(),
  /**
   * `transcoded`: the worker's MP4 (H.264/AAC) is served. `original`: the browser's upload is
   * served as it arrived, because processing is still running, failed, or made no video (audio only).
   */
  source: z.enum(['transcoded', 'original']),
  /** Video processing: null before it started. */
  processing: z.enum(['processing', 'ready', 'failed']).nullable(),
  contentType: z.string(),
  durationMs: z.int().min(0).nullable(),
  width: z.int().nullable(),
  height: z.int().nullable(),
  /** Relative URL that streams the recording (HTTP Range supported) without an Authorization header. */
  url: z.string(),
  /** Relative URL of the poster JPEG; null until processing made one. */
  posterUrl: z.string().nullable(),
  transcript: z.string().nullable(),
  transcriptSource: z.string().nullable(),
  /** Word timings of the transcript; empty when there is none (typed answer, not yet transcribed). */
  words: z.array(ZTimedWord),
});
export type TRecording = z.infer<typeof ZRecording>;

export const ZSessionRecordings = z.object({
  /** Every attempt that has a recording, by position then attempt. */
  recordings: z.array(ZRecording),
  /** The media URLs stop working at this instant; list again for fresh ones. */
  urlsExpireAt: z.iso.datetime(),
});
export type TSessionRecordings = z.infer<typeof ZSessionRecordings>;

export const ZAnswerMediaParams = z.strictObject({ answerId: z.uuid() });

export const ZMediaQuery = z.strictObject({
  /** A media token from the recordings list; not needed with a staff bearer token. */
  token: z.string().min(1).max(4096).optional(),
});

import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, toFile } from 'openai';
import { z } from 'zod';
import { extensionFor } from './audio-decode.ts';
import { matchKeywords, uniqueKeywords } from './keyword-match.ts';
import type { AudioInput, TranscribeOptions, Transcriber, Transcript, TranscriptWord } from './transcriber.ts';
import { AppError } from '../../shared/app-error.ts';

export interface OpenAiTranscriberOptions {
  apiKey: string;
  /** Default `https://api.openai.com/v1`; any server speaking the same API (path included). */
  baseUrl?: string;
  /**
   * Default `whisper-1`: the model whose `verbose_json` answer carries word timings. The
   * `gpt-4o-*-transcribe` models answer without them and fail here with UPSTREAM_FAILED.
   */
  model?: string;
  /** Per HTTP attempt. Default 3 minutes: upload plus transcription of a long answer. */
  timeoutMs?: number;
  /**
   * Retries of a 408/409/429/5xx answer or a lost connection, done by the SDK with exponential
   * backoff and honouring `retry-after`. Default 2. After the last one the error is thrown, for
   * the job runner's own retry policy.
   */
  maxRetries?: number;
  /** Larger files fail with PAYLOAD_TOO_LARGE before upload. Default 25 MB, OpenAI's limit. */
  maxBytes?: number;
  /**
   * Longer audio fails with PAYLOAD_TOO_LARGE. Default 20 minutes. The duration is only known
   * from the answer, so this is checked after the provider has transcribed (and billed) it;
   * `maxBytes` is the check that saves the upload.
   */
  maxDurationMs?: number;
}

/** OpenAI's `verbose_json` answer, as much of it as is used. */
const ZVerboseTranscription = z.object({
  text: z.string(),
  duration: z.number().nonnegative(),
  words: z.array(z.object({ word: z.string(), start: z.number(), end: z.number() })).optional(),
  segments: z.array(z.object({ start: z.number(), end: z.number(), avg_logprob: z.number() })).optional(),
});
type TVerboseTranscription = z.infer<typeof ZVerboseTranscription>;

/** Whisper reads at most 224 prompt tokens; keywords past this many characters are not sent. */
const MAX_PROMPT_CHARS = 600;

/**
 * Speech-to-text through OpenAI's transcription API (`POST /audio/transcriptions`, official SDK),
 * asking for `verbose_json` with word and segment timestamps.
 *
 * The API gives no per-word confidence. A word's confidence is exp(`avg_logprob`) of the segment
 * holding it: the geometric mean of the segment's token probabilities, so every word of a
 * segment shares it. Keywords are matched on the returned words and also sent as the prompt,
 * which biases Whisper's spelling of technical terms.
 */
export class OpenAiTranscriber implements Transcriber {
  readonly engine = 'openai';
  readonly model: string;
  private readonly client: OpenAI;
  private readonly maxBytes: number;
  private readonly maxDurationMs: number;

  constructor(options: OpenAiTranscriberOptions) {
    this.model = options.model ?? 'whisper-1';
    this.maxBytes = options.maxBytes ?? 25 * 1024 * 1024;
    this.maxDurationMs = options.maxDurationMs ?? 20 * 60_000;
    this.client = new OpenAI({
      apiKey: options.apiKey,
      baseURL: options.baseUrl,
      timeout: options.timeoutMs ?? 180_000,
      maxRetries: options.maxRetries ?? 2,
    });
  }

  async transcribe(audio: AudioInput, options: TranscribeOptions = {}): Promise<Transcript> {
    const language = options.language === undefined ? undefined : isoLanguage(options.language);
    const keywords = uniqueKeywords(options.keywords ?? []);
    const file = await this.readAudio(audio);
    const prompt = keywords.join(', ').slice(0, MAX_PROMPT_CHARS) || undefined;

    let body: unknown;
    try {
      body = await this.client.audio.transcriptions.create({
        file: await toFile(file.bytes, file.name, { type: file.contentType }),
        model: this.model,
        response_format: 'verbose_json',
        timestamp_granularities: ['word', 'segment'],
        ...(language ? { language } : {}),
        ...(prompt ? { prompt } : {}),
      });
    } catch (err) {
      throw toAppError(err);
    }

    const parsed = ZVerboseTranscription.safeParse(body);
    if (!parsed.success) {
      throw new AppError('UPSTREAM_FAILED', 'OpenAI answered with an unexpected transcription body', {
        issues: parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`),
      });
    }
    const answer = parsed.data;
    if (!answer.words) {
      throw new AppError(
        'UPSTREAM_FAILED',
        `OpenAI model ${this.model} answered without word timings; use a model that supports verbose_json (whisper-1)`,
      );
    }
    const durationMs = Math.round(answer.duration * 1000);
    if (durationMs > this.maxDurationMs) {
      throw new AppError('PAYLOAD_TOO_LARGE', `the audio is longer than ${this.maxDurationMs / 1000} s`);
    }
    const words = toWords(answer, durationMs);
    return {
      text: answer.text.trim(),
      words,
      durationMs,
      engine: this.engine,
      model: this.model,
      keywordHits: matchKeywords(keywords, words),
    };
  }

  private async readAudio(audio: AudioInput): Promise<{ bytes: Uint8Array; name: string; contentType: string }> {
    if ('bytes' in audio) {
      this.checkSize(audio.bytes.byteLength);
      // The API picks its decoder from the file name's extension.
      const ext = extensionFor(audio.contentType) ?? 'bin';
      return { bytes: audio.bytes, name: `audio.${ext}`, contentType: audio.contentType };
    }
    const info = await stat(audio.path).catch(() => undefined);
    if (!info?.isFile()) throw new AppError('NOT_FOUND', `audio file not found: ${audio.path}`);
    this.checkSize(info.size);
    const bytes = await readFile(audio.path);
    return { bytes, name: path.basename(audio.path), contentType: 'application/octet-stream' };
  }

  private checkSize(bytes: number): void {
    if (bytes === 0) throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'the audio is empty (0 bytes)', { reason: 'empty' });
    if (bytes > this.maxBytes) {
      throw new AppError('PAYLOAD_TOO_LARGE', `the audio file is larger than ${this.maxBytes} bytes`);
    }
  }
}

/** `en-US` → `en`: the API takes an ISO 639-1 code. */
function isoLanguage(tag: string): string {
  const match = /^([a-z]{2})(-[a-z0-9]{1,8})*$/i.exec(tag.trim());
  if (!match) {
    throw new AppError(
      'VALIDATION_FAILED',
      `"${tag}" is not a language tag with a two-letter ISO 639-1 language (en, en-US)`,
    );
  }
  return match[1]!.toLowerCase();
}

function toWords(answer: TVerboseTranscription, durationMs: number): TranscriptWord[] {
  const segments = answer.segments ?? [];
  return (answer.words ?? []).flatMap((w) => {
    const word = w.word.trim();
    if (!word) return [];
    const startMs = Math.max(0, Math.round(w.start * 1000));
    const endMs = Math.min(durationMs, Math.max(startMs, Math.round(w.end * 1000)));
    return [{ word, startMs, endMs, confidence: segmentConfidence(segments, (w.start + w.end) / 2) }];
  });
}

/**
 * exp(avg_logprob) of the segment holding time `t` (seconds), or of the nearest one. Without
 * segments the confidence is unknown and reported as 1, so no span is flagged on no evidence.
 */
function segmentConfidence(segments: TVerboseTranscription['segments'] & object, t: number): number {
  let best: (typeof segments)[number] | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const s of segments) {
    const distance = t < s.start ? s.start - t : t > s.end ? t - s.end : 0;
    if (distance < bestDistance) {
      best = s;
      bestDistance = distance;
    }
  }
  return best ? Math.min(1, Math.max(0, Math.exp(best.avg_logprob))) : 1;
}

/** The provider's error, as the AppError codes `transcriber.ts` documents. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof APIConnectionTimeoutError) {
    return new AppError('SERVICE_UNAVAILABLE', 'OpenAI did not answer the transcription request in time');
  }
  if (err instanceof APIConnectionError) {
    return new AppError('SERVICE_UNAVAILABLE', `OpenAI could not be reached: ${err.message}`);
  }
  if (err instanceof APIError && typeof err.status === 'number') {
    const status = err.status;
    const message = providerMessage(err);
    if ((status === 400 || status === 422) && err.param === 'language') {
      return new AppError('VALIDATION_FAILED', `OpenAI refused the language: ${message}`, { status });
    }
    if (
      (status === 400 || status === 415 || status === 422) &&
      (err.param === 'file' || /\b(audio|file)\b/i.test(message))
    ) {
      return new AppError('UNSUPPORTED_MEDIA_TYPE', `OpenAI could not read the audio: ${message}`, {
        status,
        reason: 'corrupt',
      });
    }
    if (status === 413) return new AppError('PAYLOAD_TOO_LARGE', `OpenAI refused the audio as too large: ${message}`);
    const details: { status: number; code?: string; retryAfterMs?: number } = { status };
    if (err.code) details.code = err.code;
    if (status === 429) {
      const headers: unknown = err.headers;
      const retryAfterMs = retryAfter(headers instanceof Headers ? headers : undefined);
      if (retryAfterMs !== undefined) details.retryAfterMs = retryAfterMs;
    }
    const what =
      status === 401 ? 'rejected the API key' : status === 429 ? 'is rate limiting requests' : `answered ${status}`;
    return new AppError('UPSTREAM_FAILED', `OpenAI ${what}: ${message}`, details);
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new AppError('UPSTREAM_FAILED', `OpenAI transcription failed: ${reason}`);
}

function providerMessage(err: { error: unknown; message: string }): string {
  const body: unknown = err.error;
  const message =
    typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string'
      ? body.message
      : err.message;
  return message.slice(0, 300);
}

/** `retry-after-ms`, else `retry-after` in seconds or as an HTTP date. */
function retryAfter(headers: Headers | undefined): number | undefined {
  const ms = Number(headers?.get('retry-after-ms') ?? Number.NaN);
  if (Number.isFinite(ms) && ms >= 0) return Math.round(ms);
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

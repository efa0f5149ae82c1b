/**
 * Speech-to-text for recorded answers. Implementations: Debian's pocketsphinx (offline default,
 * `pocketsphinx-transcriber.ts`) and OpenAI's transcription API (`openai-transcriber.ts`). Both
 * pass `transcriber.contract.ts`.
 *
 * Errors are `AppError`s:
 * - `UNSUPPORTED_MEDIA_TYPE`: the audio is empty, corrupt, has no audio stream or no samples;
 * - `PAYLOAD_TOO_LARGE`: longer than the transcriber accepts;
 * - `VALIDATION_FAILED`: a language the engine has no model for;
 * - `SERVICE_UNAVAILABLE`: the engine is missing, timed out, or the provider could not be reached;
 * - `UPSTREAM_FAILED`: the provider answered with an error (details carry its HTTP status).
 */
export interface Transcriber {
  /** Engine name stored beside each transcript (`answers.transcript_source`). */
  readonly engine: string;
  transcribe(audio: AudioInput, options?: TranscribeOptions): Promise<Transcript>;
}

/**
 * A recording, as a file on this machine or as bytes in memory. Any container ffmpeg reads works
 * for the offline engine (browser WebM/Opus, WAV, MP4, Ogg, MP3); `contentType` names the format.
 */
export type AudioInput = { path: string } | { bytes: Uint8Array; contentType: string };

export interface TranscribeOptions {
  /** BCP 47 tag of the spoken language (`en`, `en-US`). Omitted: the engine's default. */
  language?: string;
  /**
   * Key concepts of the rubric (`race condition`, `hash map`) to spot in the answer. A phrase
   * matches its inflected forms (`race conditions`). Also used to bias recognition where the
   * engine allows it.
   */
  keywords?: string[];
}

export interface Transcript {
  /** The recognised words joined by spaces: lower case and without punctuation for pocketsphinx. */
  text: string;
  /** Recognised words in order; fillers the engine marks as noise or silence are left out. */
  words: TranscriptWord[];
  /** Length of the audio that was transcribed. */
  durationMs: number;
  /** `pocketsphinx`, `openai`. */
  engine: string;
  /** Acoustic/language model or provider model used, recorded with every score. */
  model: string;
  /** One entry per occurrence of a keyword, in time order. */
  keywordHits: KeywordHit[];
}

export interface TranscriptWord {
  word: string;
  startMs: number;
  endMs: number;
  /** 0..1; how each engine computes it is documented on its adapter. */
  confidence: number;
}

export interface KeywordHit {
  /** The keyword as it was given in `TranscribeOptions.keywords`. */
  keyword: string;
  startMs: number;
  /** 0..1 */
  confidence: number;
}

export { speechMetrics, type SpeechMetrics, type Pause, type LowConfidenceSpan } from './speech-metrics.ts';

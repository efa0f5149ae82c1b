import { OpenAiTranscriber } from './openai-transcriber.ts';
import { PocketsphinxTranscriber, type PocketsphinxTranscriberOptions } from './pocketsphinx-transcriber.ts';
import type { Transcriber } from './transcriber.ts';
import type { Config } from '../../config.ts';
import { isAppError } from '../../shared/app-error.ts';

export type {
  AudioInput,
  KeywordHit,
  LowConfidenceSpan,
  Pause,
  SpeechMetrics,
  TranscribeOptions,
  Transcriber,
  Transcript,
  TranscriptWord,
} from './transcriber.ts';
export { speechMetrics } from './transcriber.ts';
export { OpenAiTranscriber, type OpenAiTranscriberOptions } from './openai-transcriber.ts';
export { PocketsphinxTranscriber, type PocketsphinxTranscriberOptions } from './pocketsphinx-transcriber.ts';
export { wordErrorRate, type WordErrors } from './word-error-rate.ts';

export interface CreateTranscriberOptions {
  /**
   * Told why the offline engine is not used when its programs or model are not installed; the
   * server then runs without server-side transcription (typed or browser transcripts).
   */
  onUnavailable?: (err: unknown) => void;
  /** Settings of the offline engine (program and model paths, temporary folder, limits). */
  pocketsphinx?: PocketsphinxTranscriberOptions;
}

/**
 * The transcriber chosen by `config.transcriber.kind`, or null for `none`. The offline engine is
 * checked once (ffmpeg, pocketsphinx and the model files present): it is the default, so a
 * machine without them must still boot, without transcription. OpenAI is not called at boot.
 */
export async function createTranscriber(
  config: Pick<Config, 'transcriber'>,
  options: CreateTranscriberOptions = {},
): Promise<Transcriber | null> {
  const settings = config.transcriber;
  switch (settings.kind) {
    case 'none':
      return null;
    case 'openai':
      return new OpenAiTranscriber({ apiKey: settings.apiKey, baseUrl: settings.baseUrl, model: settings.model });
    case 'pocketsphinx': {
      const transcriber = new PocketsphinxTranscriber(options.pocketsphinx);
      try {
        await transcriber.check();
      } catch (err) {
        if (!isAppError(err) || err.code !== 'SERVICE_UNAVAILABLE') throw err;
        options.onUnavailable?.(err);
        return null;
      }
      return transcriber;
    }
  }
}

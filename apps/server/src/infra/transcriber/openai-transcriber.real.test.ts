/**
 * The OpenAI adapter against a local server speaking OpenAI's transcription API whose answers
 * come from the offline engine: the upload, the `verbose_json` mapping and the error mapping run
 * for real on real recordings, without a network or an API key.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import {
  openAiError,
  startOpenAiApiServer,
  type Reply,
  type TranscriptionRequest,
} from './openai-api-server.testing.ts';
import { OpenAiTranscriber } from './openai-transcriber.ts';
import { PocketsphinxTranscriber } from './pocketsphinx-transcriber.ts';
import { transcriberContract } from './transcriber.contract.ts';
import type { TranscriptWord } from './transcriber.ts';
import { isAppError } from '../../shared/app-error.ts';

const API_KEY = 'sk-test-contract';

/** Whisper-style segments: words split where the speaker paused for a second or more. */
function segmentsOf(words: readonly TranscriptWord[]) {
  const groups: TranscriptWord[][] = [];
  for (const w of words) {
    const last = groups[groups.length - 1];
    if (last && w.startMs - last[last.length - 1]!.endMs < 1000) last.push(w);
    else groups.push([w]);
  }
  return groups.map((g, id) => ({
    id,
    start: g[0]!.startMs / 1000,
    end: g[g.length - 1]!.endMs / 1000,
    text: ` ${g.map((w) => w.word).join(' ')}`,
    avg_logprob: g.reduce((s, w) => s + Math.log(Math.max(w.confidence, 1e-6)), 0) / g.length,
    no_speech_prob: 0,
  }));
}

function pocketsphinxBackedApi(engine: PocketsphinxTranscriber) {
  return async (req: TranscriptionRequest): Promise<Reply> => {
    if (req.authorization !== `Bearer ${API_KEY}`) {
      return openAiError(401, 'Incorrect API key provided.', { code: 'invalid_api_key' });
    }
    if (!req.file) return openAiError(400, "Missing required parameter: 'file'.", { param: 'file' });
    if (req.fields.response_format !== 'verbose_json') {
      return openAiError(400, 'this test server answers verbose_json only', { param: 'response_format' });
    }
    expect(req.fields['timestamp_granularities[]']).toEqual(['word', 'segment']);
    const language = req.fields.language;
    if (language !== undefined && typeof language === 'string' && !/^[a-z]{2}$/.test(language)) {
      return openAiError(400, `Invalid language '${language}'.`, { param: 'language' });
    }
    try {
      const t = await engine.transcribe(
        { bytes: req.file.bytes, contentType: req.file.type },
        { language: typeof language === 'string' ? language : undefined },
      );
      return {
        status: 200,
        body: {
          task: 'transcribe',
          language: 'english',
          duration: t.durationMs / 1000,
          text: ` ${t.text}`,
          words: t.words.map((w) => ({ word: w.word, start: w.startMs / 1000, end: w.endMs / 1000 })),
          segments: segmentsOf(t.words),
        },
      };
    } catch (err) {
      if (isAppError(err) && err.code === 'UNSUPPORTED_MEDIA_TYPE') {
        return openAiError(400, 'Audio file might be corrupted or unsupported', {
          param: 'file',
          code: 'invalid_value',
        });
      }
      throw err;
    }
  };
}

transcriberContract('openai (local API server)', async () => {
  const tmp = await mkdtemp(path.join(tmpdir(), 'parley-stt-openai-'));
  const server = await startOpenAiApiServer(pocketsphinxBackedApi(new PocketsphinxTranscriber({ tmpDir: tmp })));
  return {
    create: (options) =>
      new OpenAiTranscriber({
        apiKey: API_KEY,
        baseUrl: server.baseUrl,
        maxRetries: 0,
        maxDurationMs: options?.maxDurationMs,
      }),
    cleanup: async () => {
      await server.close();
      await rm(tmp, { recursive: true, force: true });
    },
  };
});

import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  openAiError,
  startOpenAiApiServer,
  type OpenAiApiServer,
  type Reply,
  type TranscriptionRequest,
} from './openai-api-server.testing.ts';
import { OpenAiTranscriber, type OpenAiTranscriberOptions } from './openai-transcriber.ts';
import type { AppError } from '../../shared/app-error.ts';
import { isAppError } from '../../shared/app-error.ts';

const AUDIO = { bytes: new Uint8Array([0x1a, 0x45, 0xdf, 0xa3, 1, 2, 3]), contentType: 'audio/webm;codecs=opus' };

const VERBOSE = {
  task: 'transcribe',
  language: 'english',
  duration: 6.5,
  text: ' A race condition, then a Hash-Map.',
  words: [
    { word: 'A', start: 0.5, end: 0.62 },
    { word: 'race', start: 0.62, end: 0.9 },
    { word: 'condition', start: 0.9, end: 1.4 },
    { word: 'then', start: 3.2, end: 3.5 },
    { word: 'a', start: 3.5, end: 3.6 },
    { word: 'Hash-Map', start: 3.6, end: 6.9 },
  ],
  segments: [
    { id: 0, start: 0.5, end: 1.4, text: ' A race condition,', avg_logprob: -0.1, no_speech_prob: 0.01 },
    { id: 1, start: 3.2, end: 6.5, text: ' then a Hash-Map.', avg_logprob: -1.2, no_speech_prob: 0.02 },
  ],
};

let server: OpenAiApiServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function withServer(
  handle: (req: TranscriptionRequest, index: number) => Reply | Promise<Reply>,
  options: Partial<OpenAiTranscriberOptions> = {},
) {
  server = await startOpenAiApiServer(handle);
  return new OpenAiTranscriber({ apiKey: 'sk-unit', baseUrl: server.baseUrl, maxRetries: 0, ...options });
}

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const err: unknown = await promise.then(
    () => new Error('expected the transcription to fail'),
    (e: unknown) => e,
  );
  if (!isAppError(err)) throw err;
  return err;
}

describe('OpenAiTranscriber', () => {
  it('uploads the audio as multipart with the model, word timings, language and keyword prompt', async () => {
    const t = await withServer(() => ({ status: 200, body: VERBOSE }), { model: 'whisper-1' });
    await t.transcribe(AUDIO, { language: 'en-GB', keywords: ['race condition', 'hash map', 'Race Condition'] });
    const req = server!.requests[0]!;
    expect(req.authorization).toBe('Bearer sk-unit');
    expect(req.file?.name).toBe('audio.webm');
    expect(req.file?.bytes).toEqual(AUDIO.bytes);
    expect(req.fields).toMatchObject({
      model: 'whisper-1',
      response_format: 'verbose_json',
      'timestamp_granularities[]': ['word', 'segment'],
      language: 'en',
      prompt: 'race condition, hash map',
    });
  });

  it('maps the verbose answer to milliseconds, segment confidences and keyword hits', async () => {
    const t = await withServer(() => ({ status: 200, body: VERBOSE }));
    const transcript = await t.transcribe(AUDIO, { keywords: ['race conditions', 'hash map', 'mutex'] });
    expect(transcript.text).toBe('A race condition, then a Hash-Map.');
    expect(transcript.durationMs).toBe(6500);
    expect(transcript.engine).toBe('openai');
    expect(transcript.model).toBe('whisper-1');
    expect(transcript.words.map((w) => [w.word, w.startMs, w.endMs])).toEqual([
      ['A', 500, 620],
      ['race', 620, 900],
      ['condition', 900, 1400],
      ['then', 3200, 3500],
      ['a', 3500, 3600],
      // The provider's end is past the audio's: clamped to the duration.
      ['Hash-Map', 3600, 6500],
    ]);
    expect(transcript.words[1]!.confidence).toBeCloseTo(Math.exp(-0.1), 6);
    expect(transcript.words[5]!.confidence).toBeCloseTo(Math.exp(-1.2), 6);
    expect(transcript.keywordHits).toEqual([
      { keyword: 'race conditions', startMs: 620, confidence: transcript.words[1]!.confidence },
      { keyword: 'hash map', startMs: 3600, confidence: transcript.words[5]!.confidence },
    ]);
  });

  it('fails with UPSTREAM_FAILED carrying the status when the API key is rejected, without retrying', async () => {
    const t = await withServer(() => openAiError(401, 'Incorrect API key provided.', { code: 'invalid_api_key' }), {
      maxRetries: 2,
    });
    const err = await failure(t.transcribe(AUDIO));
    expect(err.code).toBe('UPSTREAM_FAILED');
    expect(err.details).toEqual({ status: 401, code: 'invalid_api_key' });
    expect(err.message).toMatch(/API key/);
    expect(server!.requests).toHaveLength(1);
  });

  it('passes on how long to wait when rate limited after its last retry', async () => {
    const t = await withServer(() =>
      openAiError(429, 'Rate limit reached', {
        type: 'requests',
        code: 'rate_limit_exceeded',
        headers: { 'retry-after': '7' },
      }),
    );
    const err = await failure(t.transcribe(AUDIO));
    expect(err.code).toBe('UPSTREAM_FAILED');
    expect(err.details).toEqual({ status: 429, code: 'rate_limit_exceeded', retryAfterMs: 7000 });
  });

  it('retries a rate-limited request after the time the provider asks for, then succeeds', async () => {
    const t = await withServer(
      (_req, i) =>
        i === 0
          ? openAiError(429, 'Rate limit reached', { headers: { 'retry-after-ms': '5' } })
          : { status: 200, body: VERBOSE },
      { maxRetries: 1 },
    );
    const transcript = await t.transcribe(AUDIO);
    expect(transcript.words).toHaveLength(6);
    expect(server!.requests).toHaveLength(2);
  });

  it('retries server errors and fails with UPSTREAM_FAILED and the last status when they persist', async () => {
    const t = await withServer(
      () => openAiError(503, 'The server is overloaded', { type: 'server_error', headers: { 'retry-after-ms': '1' } }),
      { maxRetries: 2 },
    );
    const err = await failure(t.transcribe(AUDIO));
    expect(err.code).toBe('UPSTREAM_FAILED');
    expect(err.details).toEqual({ status: 503 });
    expect(server!.requests).toHaveLength(3);
  });

  it('fails with SERVICE_UNAVAILABLE when the provider does not answer in time', async () => {
    const t = await withServer(() => 'hang', { timeoutMs: 300 });
    expect((await failure(t.transcribe(AUDIO))).code).toBe('SERVICE_UNAVAILABLE');
  });

  it('fails with SERVICE_UNAVAILABLE when nothing listens at the base URL', async () => {
    const free = net.createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
    const { port } = free.address() as net.AddressInfo;
    await new Promise<void>((r) => free.close(() => r()));
    const t = new OpenAiTranscriber({ apiKey: 'sk-unit', baseUrl: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
    expect((await failure(t.transcribe(AUDIO))).code).toBe('SERVICE_UNAVAILABLE');
  });

  it.each([
    [
      openAiError(400, 'Audio file might be corrupted or unsupported', { param: 'file', code: 'invalid_value' }),
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [openAiError(400, 'Invalid file format. Supported formats: flac, mp3, ogg, wav, webm'), 'UNSUPPORTED_MEDIA_TYPE'],
    [openAiError(400, "Invalid language 'xx'.", { param: 'language' }), 'VALIDATION_FAILED'],
    [openAiError(413, 'Maximum content size limit exceeded'), 'PAYLOAD_TOO_LARGE'],
    [openAiError(400, 'Unsupported model', { param: 'model' }), 'UPSTREAM_FAILED'],
    [{ status: 200, body: { text: 'no timings', duration: 1, language: 'english' } }, 'UPSTREAM_FAILED'],
    [{ status: 200, body: { words: 'not a list' } }, 'UPSTREAM_FAILED'],
  ] as [Reply, string][])('maps answer %# to %s', async (reply, code) => {
    const t = await withServer(() => reply);
    expect((await failure(t.transcribe(AUDIO))).code).toBe(code);
  });

  it('names the model when the answer has no word timings', async () => {
    const t = await withServer(() => ({ status: 200, body: { text: 'hi', duration: 1 } }), {
      model: 'gpt-4o-transcribe',
    });
    expect((await failure(t.transcribe(AUDIO))).message).toMatch(/gpt-4o-transcribe.*whisper-1/);
  });

  it('fails with PAYLOAD_TOO_LARGE when the answer says the audio is longer than allowed', async () => {
    const t = await withServer(() => ({ status: 200, body: VERBOSE }), { maxDurationMs: 5000 });
    expect((await failure(t.transcribe(AUDIO))).code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('refuses empty, oversized or unlabelled-language input without calling the provider', async () => {
    const t = await withServer(() => ({ status: 200, body: VERBOSE }), { maxBytes: 4 });
    expect((await failure(t.transcribe({ bytes: new Uint8Array(0), contentType: 'audio/wav' }))).code).toBe(
      'UNSUPPORTED_MEDIA_TYPE',
    );
    expect((await failure(t.transcribe(AUDIO))).code).toBe('PAYLOAD_TOO_LARGE');
    expect((await failure(t.transcribe({ path: '/nonexistent/answer.wav' }))).code).toBe('NOT_FOUND');
    expect((await failure(t.transcribe(AUDIO, { language: 'eng' }))).code).toBe('VALIDATION_FAILED');
    expect(server!.requests).toHaveLength(0);
  });
});

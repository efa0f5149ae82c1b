import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTranscriber, OpenAiTranscriber } from './index.ts';
import { loadConfig } from '../../config.ts';

describe('createTranscriber', () => {
  it('gives no transcriber when transcription is off', async () => {
    expect(await createTranscriber(loadConfig({ TRANSCRIBER: 'none' }))).toBeNull();
  });

  it('builds the OpenAI transcriber with the configured model, without calling it', async () => {
    const config = loadConfig({
      TRANSCRIBER: 'openai',
      TRANSCRIBER_OPENAI_API_KEY: 'sk-x',
      TRANSCRIBER_OPENAI_BASE_URL: 'http://127.0.0.1:1/v1',
    });
    expect(config.transcriber).toEqual({
      kind: 'openai',
      apiKey: 'sk-x',
      baseUrl: 'http://127.0.0.1:1/v1',
      model: 'whisper-1',
    });
    const t = await createTranscriber(config);
    expect(t).toBeInstanceOf(OpenAiTranscriber);
    expect(t?.engine).toBe('openai');
  });

  it('stops boot when OpenAI transcription is chosen without an API key, naming the variable', () => {
    expect(() => loadConfig({ TRANSCRIBER: 'openai' })).toThrow(/TRANSCRIBER_OPENAI_API_KEY/);
  });

  it('defaults to the offline engine and runs without transcription when it is not installed', async () => {
    const config = loadConfig({});
    expect(config.transcriber).toEqual({ kind: 'pocketsphinx' });
    const tmp = await mkdtemp(path.join(tmpdir(), 'parley-stt-index-'));
    const reasons: unknown[] = [];
    try {
      const t = await createTranscriber(config, {
        pocketsphinx: { modelDir: path.join(tmp, 'en-us') },
        onUnavailable: (err) => reasons.push(err),
      });
      expect(t).toBeNull();
      expect(reasons).toHaveLength(1);
      expect(String(reasons[0])).toMatch(/model file missing/);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});

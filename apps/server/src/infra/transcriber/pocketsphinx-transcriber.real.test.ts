import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTranscriber } from './index.ts';
import { PocketsphinxTranscriber } from './pocketsphinx-transcriber.ts';
import { runProcess } from './run-process.ts';
import { speechFile, transcriberContract, wavFile } from './transcriber.contract.ts';
import { speechMetrics } from './transcriber.ts';
import { isAppError } from '../../shared/app-error.ts';

let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'parley-stt-test-'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

transcriberContract('pocketsphinx', () => ({
  create: (options) => new PocketsphinxTranscriber({ tmpDir: tmp, maxDurationMs: options?.maxDurationMs }),
}));

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const err: unknown = await promise.then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  );
  if (!isAppError(err)) throw err;
  return err.code;
}

describe('PocketsphinxTranscriber', () => {
  it('finds its programs and model on this machine', async () => {
    await expect(new PocketsphinxTranscriber().check()).resolves.toBeUndefined();
  });

  it('gives an empty transcript for silence, with its length', async () => {
    const silence = wavFile(new Int16Array(16_000 * 2));
    const t = await new PocketsphinxTranscriber({ tmpDir: tmp }).transcribe(
      { bytes: silence, contentType: 'audio/wav' },
      { keywords: ['thread'] },
    );
    expect(t.words).toEqual([]);
    expect(t.text).toBe('');
    expect(t.keywordHits).toEqual([]);
    expect(t.durationMs).toBe(2000);
  });

  it('fails with UNSUPPORTED_MEDIA_TYPE for a video without an audio stream', async () => {
    const video = path.join(tmp, 'no-audio.mp4');
    const made = await runProcess(
      'ffmpeg',
      ['-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=5', '-t', '1', '-y', video],
      { timeoutMs: 60_000 },
    );
    expect(made.code).toBe(0);
    const bytes = await readFile(video);
    expect(
      await codeOf(new PocketsphinxTranscriber({ tmpDir: tmp }).transcribe({ bytes, contentType: 'video/mp4' })),
    ).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('fails with SERVICE_UNAVAILABLE, killing the decoder, when it runs past its timeout', async () => {
    const slow = new PocketsphinxTranscriber({ tmpDir: tmp, timeoutMs: 1, timeoutPerAudioSecondMs: 0 });
    expect(await codeOf(slow.transcribe({ path: speechFile('q2_weak.wav') }))).toBe('SERVICE_UNAVAILABLE');
  });

  it('fails with SERVICE_UNAVAILABLE naming the install script when pocketsphinx is missing', async () => {
    const missing = new PocketsphinxTranscriber({
      tmpDir: tmp,
      pocketsphinxPath: '/nonexistent/pocketsphinx_continuous',
    });
    const err: unknown = await missing.transcribe({ path: speechFile('q2_weak.wav') }).catch((e: unknown) => e);
    expect(isAppError(err) && err.code).toBe('SERVICE_UNAVAILABLE');
    expect((err as Error).message).toMatch(/transcriber-deps\.sh/);
  });

  it('leaves no temporary files behind, whether transcription succeeds or fails', async () => {
    const own = await mkdtemp(path.join(tmp, 'own-'));
    const transcriber = new PocketsphinxTranscriber({ tmpDir: own });
    await transcriber.transcribe({ path: speechFile('q2_weak.wav') }, { keywords: ['manager'] });
    await transcriber.transcribe({ bytes: new Uint8Array([1, 2, 3]), contentType: 'audio/wav' }).catch(() => undefined);
    expect(await readdir(own)).toEqual([]);
  });

  it('spots keywords by listening in kws mode, where the transcript has them', async () => {
    const keywords = ['manager', 'project'];
    const kws = await new PocketsphinxTranscriber({ tmpDir: tmp, keywordSpotting: 'kws' }).transcribe(
      { path: speechFile('q2_weak.wav') },
      { keywords },
    );
    expect(kws.keywordHits.map((h) => h.keyword).sort()).toEqual(['manager', 'project']);
    const fromText = await new PocketsphinxTranscriber({ tmpDir: tmp, keywordSpotting: 'transcript' }).transcribe(
      { path: speechFile('q2_weak.wav') },
      { keywords },
    );
    const manager = fromText.words.find((w) => w.word === 'manager')!;
    expect(fromText.keywordHits.find((h) => h.keyword === 'manager')?.startMs).toBe(manager.startMs);
    // Both passes hear "manager" at about the same moment.
    const spotted = kws.keywordHits.find((h) => h.keyword === 'manager')!;
    expect(Math.abs(spotted.startMs - manager.startMs)).toBeLessThanOrEqual(300);
  });

  it('gives word timings from which speech metrics follow', async () => {
    const t = await new PocketsphinxTranscriber({ tmpDir: tmp }).transcribe({ path: speechFile('q1_good.wav') });
    const m = speechMetrics(t, { minPauseMs: 200 });
    expect(m.wordCount).toBe(t.words.length);
    // Read speech runs at roughly 120–200 words per minute; 41 words in about 15 s.
    expect(m.wordsPerMinute).toBeGreaterThan(100);
    expect(m.wordsPerMinute).toBeLessThan(260);
    expect(m.speakingMs).toBeLessThanOrEqual(t.durationMs);
  });
});

describe('createTranscriber', () => {
  it('builds the offline transcriber when its programs are installed', async () => {
    const t = await createTranscriber({ transcriber: { kind: 'pocketsphinx' } }, { pocketsphinx: { tmpDir: tmp } });
    expect(t).toBeInstanceOf(PocketsphinxTranscriber);
  });
});

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeHits, PocketsphinxTranscriber } from './pocketsphinx-transcriber.ts';
import { isAppError } from '../../shared/app-error.ts';

// Nothing here starts ffmpeg or pocketsphinx: every case fails before a program would run, or
// points at a program that does not exist. `pocketsphinx-transcriber.real.test.ts` runs them.

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'parley-stt-unit-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>) {
  const err: unknown = await promise.then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  );
  if (!isAppError(err)) throw err;
  return err;
}

describe('PocketsphinxTranscriber without its programs', () => {
  it('refuses a language it has no model for', async () => {
    const t = new PocketsphinxTranscriber({ tmpDir: tmp });
    expect((await failure(t.transcribe({ path: '/x.wav' }, { language: 'fr' }))).code).toBe('VALIDATION_FAILED');
    expect((await failure(t.transcribe({ path: '/x.wav' }, { language: 'de-DE' }))).code).toBe('VALIDATION_FAILED');
  });

  it('fails with UNSUPPORTED_MEDIA_TYPE for empty audio and NOT_FOUND for a missing file', async () => {
    const t = new PocketsphinxTranscriber({ tmpDir: tmp, ffmpegPath: '/nonexistent/ffmpeg' });
    const empty = await failure(t.transcribe({ bytes: new Uint8Array(0), contentType: 'audio/webm' }));
    expect([empty.code, empty.details]).toEqual(['UNSUPPORTED_MEDIA_TYPE', { reason: 'empty' }]);
    expect((await failure(t.transcribe({ path: path.join(tmp, 'missing.wav') }))).code).toBe('NOT_FOUND');
    expect((await failure(t.transcribe({ path: tmp }))).code).toBe('NOT_FOUND');
  });

  it('fails with SERVICE_UNAVAILABLE naming the install script when ffmpeg is missing, and cleans up', async () => {
    const own = await mkdtemp(path.join(tmp, 'own-'));
    const t = new PocketsphinxTranscriber({ tmpDir: own, ffmpegPath: '/nonexistent/ffmpeg' });
    const err = await failure(t.transcribe({ bytes: new Uint8Array([1, 2, 3]), contentType: 'audio/wav' }));
    expect(err.code).toBe('SERVICE_UNAVAILABLE');
    expect(err.message).toMatch(/scripts\/services\/transcriber-deps\.sh/);
    expect(await readdir(own)).toEqual([]);
  });

  it('reports a missing model as SERVICE_UNAVAILABLE from check()', async () => {
    const t = new PocketsphinxTranscriber({ modelDir: path.join(tmp, 'no-model', 'en-us') });
    const err = await failure(t.check());
    expect(err.code).toBe('SERVICE_UNAVAILABLE');
    expect(err.message).toMatch(/model file missing/);
  });

  it('rejects decoder argument names that could be read as something else', () => {
    expect(() => new PocketsphinxTranscriber({ decoderArgs: { 'lw -infile': 1 } })).toThrow(/argument name/);
  });

  it('names its model after the model folder', () => {
    expect(new PocketsphinxTranscriber().model).toBe('en-us ptm + en-us.lm.bin');
  });
});

describe('mergeHits', () => {
  const hit = (keyword: string, startMs: number, confidence = 1) => ({ keyword, startMs, confidence });

  it('keeps transcript hits and adds a spotted hit only where the transcript has none nearby', () => {
    const merged = mergeHits(
      [hit('thread', 5000, 0.9), hit('lock', 9000)],
      [hit('thread', 5400, 0.2), hit('thread', 1200, 0.3), hit('lock', 12_000, 0.1)],
    );
    expect(merged).toEqual([
      hit('thread', 1200, 0.3),
      hit('thread', 5000, 0.9),
      hit('lock', 9000),
      hit('lock', 12_000, 0.1),
    ]);
  });

  it('does not let a spotted hit of one keyword hide behind a transcript hit of another', () => {
    expect(mergeHits([hit('heap', 1000)], [hit('hash map', 1000)]).map((h) => h.keyword)).toEqual(['hash map', 'heap']);
  });
});

/**
 * The behaviour every Transcriber must have. `pocketsphinx-transcriber.real.test.ts` and
 * `openai-transcriber.real.test.ts` each run it against their adapter, on the recorded answers in
 * the shared speech data set (read in place, never copied into the repository).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normaliseWords } from './text-normalise.ts';
import type { Transcriber, Transcript } from './transcriber.ts';
import { wordErrorRate } from './word-error-rate.ts';
import { isAppError } from '../../shared/app-error.ts';

/** `../shared/data/speech` beside the repository: WAV and WebM recordings with `.txt` references. */
export const SPEECH_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../../../../shared/data/speech',
);

export const speechFile = (name: string): string => path.join(SPEECH_DIR, name);

export async function reference(base: string): Promise<string> {
  return readFile(speechFile(`${base}.txt`), 'utf8');
}

/** Duration of a PCM WAV file from its header: data chunk bytes over the byte rate. */
export function wavDurationMs(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let byteRate = 0;
  for (let offset = 12; offset + 8 <= bytes.byteLength;) {
    const id = String.fromCharCode(...bytes.subarray(offset, offset + 4));
    const size = view.getUint32(offset + 4, true);
    if (id === 'fmt ') byteRate = view.getUint32(offset + 16, true);
    if (id === 'data') return (Math.min(size, bytes.byteLength - offset - 8) / byteRate) * 1000;
    offset += 8 + size + (size % 2);
  }
  throw new Error('no data chunk in WAV');
}

/** A 16-bit mono PCM WAV of `samples`, for audio the test controls. */
export function wavFile(samples: Int16Array, sampleRate = 16_000): Uint8Array {
  const out = Buffer.alloc(44 + samples.byteLength);
  out.write('RIFF', 0);
  out.writeUInt32LE(36 + samples.byteLength, 4);
  out.write('WAVEfmt ', 8);
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20);
  out.writeUInt16LE(1, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 2, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36);
  out.writeUInt32LE(samples.byteLength, 40);
  Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength).copy(out, 44);
  return new Uint8Array(out);
}

export interface TranscriberHarness {
  /** A transcriber of the implementation; `maxDurationMs` lowers its length limit. */
  create(options?: { maxDurationMs?: number }): Transcriber;
  /** Runs once after the suite. */
  cleanup?(): Promise<void>;
}

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const err: unknown = await promise.then(
    () => new Error('expected the transcription to fail, but it succeeded'),
    (e: unknown) => e,
  );
  if (!isAppError(err)) throw err;
  return { code: err.code, message: err.message };
}

/** The words are well-formed: ordered, inside the audio, with confidences in 0..1. */
function expectWellFormed(t: Transcript, transcriber: Transcriber) {
  expect(t.engine).toBe(transcriber.engine);
  expect(t.model).not.toBe('');
  expect(t.words.length).toBeGreaterThan(0);
  for (const [i, w] of t.words.entries()) {
    expect(w.word.trim()).not.toBe('');
    expect(w.startMs).toBeGreaterThanOrEqual(0);
    expect(w.endMs).toBeGreaterThanOrEqual(w.startMs);
    expect(w.endMs).toBeLessThanOrEqual(t.durationMs);
    expect(w.confidence).toBeGreaterThanOrEqual(0);
    expect(w.confidence).toBeLessThanOrEqual(1);
    if (i > 0) expect(w.startMs).toBeGreaterThanOrEqual(t.words[i - 1]!.startMs);
  }
  // `text` is the words: the same sequence once case and punctuation are set aside.
  expect(normaliseWords(t.text)).toEqual(normaliseWords(t.words.map((w) => w.word).join(' ')));
}

export function transcriberContract(name: string, makeHarness: () => TranscriberHarness | Promise<TranscriberHarness>) {
  describe(`Transcriber contract: ${name}`, () => {
    let harness: TranscriberHarness;
    let transcriber: Transcriber;

    beforeAll(async () => {
      if (!existsSync(SPEECH_DIR)) throw new Error(`speech test data not found at ${SPEECH_DIR}`);
      harness = await makeHarness();
      transcriber = harness.create();
    });

    afterAll(async () => {
      await harness?.cleanup?.();
    });

    it('transcribes a recorded answer from a file into timed words close to what was said', async () => {
      const wav = await readFile(speechFile('q2_weak.wav'));
      const t = await transcriber.transcribe({ path: speechFile('q2_weak.wav') }, { language: 'en' });
      expectWellFormed(t, transcriber);
      expect(Math.abs(t.durationMs - wavDurationMs(wav))).toBeLessThanOrEqual(50);
      expect(wordErrorRate(await reference('q2_weak'), t.text).wer).toBeLessThanOrEqual(0.25);
    });

    it('transcribes a browser recording (WebM/Opus) given as bytes', async () => {
      const bytes = await readFile(speechFile('q1_good.webm'));
      const t = await transcriber.transcribe({ bytes, contentType: 'audio/webm;codecs=opus' }, { language: 'en-US' });
      expectWellFormed(t, transcriber);
      const wav = await readFile(speechFile('q1_good.wav'));
      expect(Math.abs(t.durationMs - wavDurationMs(wav))).toBeLessThanOrEqual(100);
      expect(wordErrorRate(await reference('q1_good'), t.text).wer).toBeLessThanOrEqual(0.3);
    });

    it('reports where each rubric keyword was said, spelled as given, and nothing for an absent one', async () => {
      const t = await transcriber.transcribe(
        { path: speechFile('q1_good.wav') },
        { keywords: ['Race Condition', 'process', 'quantum entanglement', '  '] },
      );
      const race = t.keywordHits.filter((h) => h.keyword === 'Race Condition');
      expect(race).toHaveLength(1);
      // "race conditions" are the answer's last words.
      expect(race[0]!.startMs).toBeGreaterThan(t.durationMs * 0.7);
      expect(t.keywordHits.filter((h) => h.keyword === 'process').length).toBeGreaterThanOrEqual(1);
      expect(t.keywordHits.some((h) => h.keyword === 'quantum entanglement')).toBe(false);
      for (const hit of t.keywordHits) {
        expect(['Race Condition', 'process']).toContain(hit.keyword);
        expect(hit.confidence).toBeGreaterThanOrEqual(0);
        expect(hit.confidence).toBeLessThanOrEqual(1);
      }
      const starts = t.keywordHits.map((h) => h.startMs);
      expect(starts).toEqual([...starts].sort((a, b) => a - b));
    });

    it('transcribes several recordings at once, each into its own words', async () => {
      const [a, b] = await Promise.all([
        transcriber.transcribe({ path: speechFile('q3_weak.wav') }),
        transcriber.transcribe({ path: speechFile('q2_weak.wav') }),
      ]);
      expect(wordErrorRate(await reference('q3_weak'), a.text).wer).toBeLessThanOrEqual(0.3);
      expect(wordErrorRate(await reference('q2_weak'), b.text).wer).toBeLessThanOrEqual(0.25);
    });

    it('fails with UNSUPPORTED_MEDIA_TYPE for empty audio', async () => {
      const err = await failure(transcriber.transcribe({ bytes: new Uint8Array(0), contentType: 'audio/webm' }));
      expect(err.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(err.message).toMatch(/empty/);
    });

    it('fails with UNSUPPORTED_MEDIA_TYPE for bytes that are not audio', async () => {
      const bytes = new TextEncoder().encode('this is a text file, not a recording\n'.repeat(200));
      const err = await failure(transcriber.transcribe({ bytes, contentType: 'audio/webm' }));
      expect(err.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    });

    it('fails with UNSUPPORTED_MEDIA_TYPE for a recording cut off inside its header', async () => {
      const webm = await readFile(speechFile('q2_weak.webm'));
      const err = await failure(transcriber.transcribe({ bytes: webm.subarray(0, 60), contentType: 'audio/webm' }));
      expect(err.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    });

    it('fails with NOT_FOUND for a file that does not exist', async () => {
      const err = await failure(transcriber.transcribe({ path: speechFile('no-such-answer.wav') }));
      expect(err.code).toBe('NOT_FOUND');
    });

    it('fails with VALIDATION_FAILED for something that is not a language tag', async () => {
      const err = await failure(
        transcriber.transcribe({ path: speechFile('q2_weak.wav') }, { language: 'english please' }),
      );
      expect(err.code).toBe('VALIDATION_FAILED');
    });

    it('fails with PAYLOAD_TOO_LARGE for audio longer than it accepts', async () => {
      const short = harness.create({ maxDurationMs: 3000 });
      const err = await failure(short.transcribe({ path: speechFile('q1_good.wav') }));
      expect(err.code).toBe('PAYLOAD_TOO_LARGE');
    });
  });
}

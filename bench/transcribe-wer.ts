/**
 * `npm run eval:transcripts`: word error rate of the offline transcriber on the speech test set
 * (`../shared/data/speech/*.wav` and the browser-like `.webm` of each, against its `.txt`), the
 * real-time factor, and keyword-spotting precision/recall on rubric-style key concepts.
 *
 *   npm run eval:transcripts [-- --data DIR] [--decoder name=value,...] [--kws transcript|kws|both]
 *                            [--kws-exponent N] [--only wav|webm]
 *
 * WER is pooled (all errors over all reference words); per-file figures are each file's own.
 * RTF = wall time of `transcribe()` (ffmpeg decode + pocketsphinx, keyword pass included) over
 * audio duration, files run one after another. The last stdout line is one JSON object.
 *
 * Measured (Debian 12 pocketsphinx 0.8+5prealpha+1-15, en-us model, default decoder settings,
 * 2 cores; WER is deterministic, RTF varies with load):
 *   wav:  pooled WER 17.57% (39 errors / 222 words; per file 5.6%–27.5%), RTF ~0.2–0.3
 *   webm: pooled WER 17.57% (per file 4.2%–27.5%), RTF ~0.25–0.4
 *   keywords (`both`): precision 0.806, recall 0.962 on wav;
 *            (`transcript`): precision 1.0, recall 0.808 — the KWS pass buys recall with false alarms.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { matchKeywords } from '../apps/server/src/infra/transcriber/keyword-match.ts';
import {
  PocketsphinxTranscriber,
  TUNED_DECODER_ARGS,
  type KeywordSpotting,
} from '../apps/server/src/infra/transcriber/pocketsphinx-transcriber.ts';
import { normaliseWords } from '../apps/server/src/infra/transcriber/text-normalise.ts';
import {
  pooledWordErrorRate,
  wordErrorRate,
  type WordErrors,
} from '../apps/server/src/infra/transcriber/word-error-rate.ts';

/**
 * Key concepts a recruiter would put in each question's rubric, written from the questions
 * (README of the data), including concepts no answer mentions, so false alarms show.
 */
const KEY_CONCEPTS: Record<string, string[]> = {
  q1: [
    'process',
    'thread',
    'memory',
    'shared memory',
    'race condition',
    'synchronization',
    'lock',
    'context switch',
    'address space',
  ],
  q2: ['team', 'led', 'migration', 'database', 'deadline', 'stakeholder', 'downtime', 'parallel', 'PostgreSQL'],
  q3: ['hash map', 'count', 'sort', 'heap', 'linear time', 'n log n', 'distinct words', 'frequency'],
  q4: ['listen', 'trade-off', 'compromise', 'prototype', 'agreed', 'data', 'feedback', 'colleague'],
};

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: path.resolve(root, '../shared/data/speech') },
    decoder: { type: 'string', default: '' },
    kws: { type: 'string', default: 'both' },
    'kws-exponent': { type: 'string' },
    only: { type: 'string' },
  },
});

const decoderArgs = Object.fromEntries(
  args.decoder
    .split(',')
    .filter(Boolean)
    .map((kv) => kv.split('=') as [string, string]),
);
const transcriber = new PocketsphinxTranscriber({
  decoderArgs,
  keywordSpotting: args.kws as KeywordSpotting,
  kwsThresholdExponentPerPhone: args['kws-exponent'] ? Number(args['kws-exponent']) : undefined,
  maxConcurrent: 1,
});

interface FileResult extends WordErrors {
  audioMs: number;
  elapsedMs: number;
  hypothesis: string;
  keywords: { truePositive: number; falsePositive: number; falseNegative: number };
}

async function measure(file: string): Promise<FileResult> {
  const base = path.basename(file).replace(/\.\w+$/, '');
  const reference = await readFile(path.join(args.data, `${base}.txt`), 'utf8');
  const keywords = KEY_CONCEPTS[base.split('_')[0]!] ?? [];
  const started = performance.now();
  const transcript = await transcriber.transcribe({ path: file }, { language: 'en', keywords });
  const elapsedMs = performance.now() - started;
  // Truth: the keyword occurs in the reference text, by the same word-form rule.
  const refWords = normaliseWords(reference).map((word) => ({ word, startMs: 0, endMs: 0, confidence: 1 }));
  const present = new Set(matchKeywords(keywords, refWords).map((h) => h.keyword));
  const hit = new Set(transcript.keywordHits.map((h) => h.keyword));
  return {
    ...wordErrorRate(reference, transcript.text),
    audioMs: transcript.durationMs,
    elapsedMs,
    hypothesis: transcript.text,
    keywords: {
      truePositive: [...hit].filter((k) => present.has(k)).length,
      falsePositive: [...hit].filter((k) => !present.has(k)).length,
      falseNegative: [...present].filter((k) => !hit.has(k)).length,
    },
  };
}

const round = (x: number, digits = 4) => Number(x.toFixed(digits));

async function measureKind(ext: 'wav' | 'webm') {
  const files = (await readdir(args.data)).filter((f) => f.endsWith(`.${ext}`)).sort();
  const perFile: Record<string, FileResult> = {};
  for (const f of files) {
    const r = await measure(path.join(args.data, f));
    perFile[f] = r;
    console.log(
      `${f.padEnd(14)} WER ${(r.wer * 100).toFixed(1).padStart(5)}%  (S${r.substitutions} D${r.deletions} I${r.insertions} / ${r.referenceWords})` +
        `  RTF ${(r.elapsedMs / r.audioMs).toFixed(3)}  kw tp${r.keywords.truePositive} fp${r.keywords.falsePositive} fn${r.keywords.falseNegative}`,
    );
    console.log(`  hyp: ${r.hypothesis}`);
  }
  const results = Object.values(perFile);
  const sum = (pick: (r: FileResult) => number) => results.reduce((s, r) => s + pick(r), 0);
  const tp = sum((r) => r.keywords.truePositive);
  const fp = sum((r) => r.keywords.falsePositive);
  const fn = sum((r) => r.keywords.falseNegative);
  const wer = pooledWordErrorRate(results);
  const rtf = sum((r) => r.elapsedMs) / sum((r) => r.audioMs);
  console.log(`${ext}: ${files.length} files, pooled WER ${(wer * 100).toFixed(2)}%, RTF ${rtf.toFixed(3)}`);
  return {
    files: files.length,
    wer: round(wer),
    per_file: Object.fromEntries(Object.entries(perFile).map(([f, r]) => [f, round(r.wer)])),
    rtf: round(rtf, 3),
    keywords: {
      precision: round(tp + fp === 0 ? 1 : tp / (tp + fp), 3),
      recall: round(tp + fn === 0 ? 1 : tp / (tp + fn), 3),
      tp,
      fp,
      fn,
    },
  };
}

await transcriber.check();
const wav = args.only === 'webm' ? undefined : await measureKind('wav');
const webm = args.only === 'wav' ? undefined : await measureKind('webm');
const main = wav ?? webm!;
console.log(
  JSON.stringify({
    files: main.files,
    wer: main.wer,
    per_file: main.per_file,
    rtf: main.rtf,
    keywords: main.keywords,
    ...(wav && webm ? { webm } : {}),
    engine: transcriber.engine,
    model: transcriber.model,
    decoder: { ...TUNED_DECODER_ARGS, ...decoderArgs },
    keyword_spotting: args.kws,
  }),
);

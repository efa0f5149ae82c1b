import { access, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { defaultTmpDir, withDecodedAudio, type DecodedAudio } from './audio-decode.ts';
import { matchKeywords, uniqueKeywords } from './keyword-match.ts';
import { parseSegments, type PocketsphinxSegment } from './pocketsphinx-output.ts';
import { lastLines, runProcess } from './run-process.ts';
import { normaliseWords } from './text-normalise.ts';
import type {
  AudioInput,
  KeywordHit,
  TranscribeOptions,
  Transcriber,
  Transcript,
  TranscriptWord,
} from './transcriber.ts';
import { AppError } from '../../shared/app-error.ts';

/** Where Debian's `pocketsphinx-en-us` puts the US English models. */
export const DEBIAN_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us';

/**
 * Decoder settings that differ from pocketsphinx 5prealpha's defaults. None yet: the only speech
 * set is seven test recordings, and settings chosen on it would be fitted to it. Measure any
 * candidate with `npm run eval:transcripts -- --decoder name=value` (figures in that script's
 * header) and keep to search settings (beams, weights), never word lists or language models.
 */
export const TUNED_DECODER_ARGS: Readonly<Record<string, string>> = {};

/**
 * How keyword hits are found:
 * - `transcript`: word-form matching over the recognised words (`keyword-match.ts`);
 * - `kws`: a second pocketsphinx pass in keyword-spotting mode (`-kws`), which listens for the
 *   phrases themselves and so also finds a keyword the language model decoded as another word;
 * - `both`: the union, a spotted keyword kept only where the transcript has no hit for it nearby.
 */
export type KeywordSpotting = 'transcript' | 'kws' | 'both';

export interface PocketsphinxTranscriberOptions {
  /** Default `pocketsphinx_continuous` (Debian 12's CLI), looked up on PATH. */
  pocketsphinxPath?: string;
  /** Default `ffmpeg`, looked up on PATH. */
  ffmpegPath?: string;
  /** Folder holding `en-us/` (acoustic model), `en-us.lm.bin` and `cmudict-en-us.dict`. */
  modelDir?: string;
  /** Extra `-name value` decoder arguments, over `TUNED_DECODER_ARGS` (for measuring, mostly). */
  decoderArgs?: Record<string, string | number>;
  keywordSpotting?: KeywordSpotting;
  /**
   * KWS threshold per keyphrase is 10^-(this × phones in the phrase): the keyphrase-vs-phone-loop
   * score margin grows with phrase length, so a fixed threshold would flood short words with
   * false alarms and miss long phrases.
   */
  kwsThresholdExponentPerPhone?: number;
  /** Longer audio fails with PAYLOAD_TOO_LARGE. Default 20 minutes. */
  maxDurationMs?: number;
  /** Each pocketsphinx run may take this long plus `timeoutPerAudioSecondMs` per audio second. */
  timeoutMs?: number;
  timeoutPerAudioSecondMs?: number;
  /** Transcriptions run at once; more wait. Each uses one core and ~100 MB. Default: cores - 1. */
  maxConcurrent?: number;
  tmpDir?: string;
}

/**
 * Offline speech-to-text with Debian's pocketsphinx 5prealpha CLI (`pocketsphinx_continuous`).
 *
 * Audio is decoded by ffmpeg to 16 kHz mono PCM, then decoded with the en-us acoustic model and
 * the en-us trigram language model. Word confidence is the word's posterior probability in the
 * decoder's word lattice (forward-backward over the lattice, which `-bestpath yes` builds and
 * `-time yes` prints as 1.0001^logposterior), clamped to 0..1. Keyword-spotting hit confidence is
 * 1.0001^(margin − 1500), the margin being the keyphrase's log-score advantage over a phone loop:
 * monotonic in detection strength but not a calibrated probability.
 */
export class PocketsphinxTranscriber implements Transcriber {
  readonly engine = 'pocketsphinx';
  private readonly pocketsphinx: string;
  private readonly ffmpeg: string;
  private readonly modelDir: string;
  private readonly decoderArgs: string[];
  private readonly keywordSpotting: KeywordSpotting;
  private readonly kwsExponent: number;
  private readonly maxDurationMs: number;
  private readonly timeoutMs: number;
  private readonly timeoutPerAudioSecondMs: number;
  private readonly tmpDir: string;
  private readonly maxConcurrent: number;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private dictionary?: Promise<Map<string, number>>;

  constructor(options: PocketsphinxTranscriberOptions = {}) {
    this.pocketsphinx = options.pocketsphinxPath ?? 'pocketsphinx_continuous';
    this.ffmpeg = options.ffmpegPath ?? 'ffmpeg';
    this.modelDir = options.modelDir ?? DEBIAN_MODEL_DIR;
    const args = { ...TUNED_DECODER_ARGS, ...options.decoderArgs };
    this.decoderArgs = Object.entries(args).flatMap(([name, value]) => {
      if (!/^[a-z_]+$/.test(name)) throw new Error(`not a pocketsphinx argument name: ${name}`);
      return [`-${name}`, String(value)];
    });
    this.keywordSpotting = options.keywordSpotting ?? 'both';
    this.kwsExponent = options.kwsThresholdExponentPerPhone ?? 5;
    this.maxDurationMs = options.maxDurationMs ?? 20 * 60_000;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.timeoutPerAudioSecondMs = options.timeoutPerAudioSecondMs ?? 3_000;
    this.tmpDir = options.tmpDir ?? defaultTmpDir();
    this.maxConcurrent = options.maxConcurrent ?? Math.max(1, availableParallelism() - 1);
  }

  get model(): string {
    return `${path.basename(this.modelDir)} ptm + ${path.basename(this.modelDir)}.lm.bin`;
  }

  /** Resolves when ffmpeg, the pocketsphinx CLI and the model files are all present. */
  async check(): Promise<void> {
    await Promise.all(
      [this.hmmDir, this.lmPath, this.dictPath].map((p) =>
        access(p).catch(() => {
          throw new AppError(
            'SERVICE_UNAVAILABLE',
            `pocketsphinx model file missing: ${p}; run scripts/services/transcriber-deps.sh`,
          );
        }),
      ),
    );
    await runProcess(this.ffmpeg, ['-nostdin', '-hide_banner', '-version'], { timeoutMs: 30_000 });
    // The 5prealpha CLI prints its usage and exits non-zero without -infile; reaching it is enough.
    await runProcess(this.pocketsphinx, ['-logfn', '/dev/null'], { timeoutMs: 30_000 });
  }

  async transcribe(audio: AudioInput, options: TranscribeOptions = {}): Promise<Transcript> {
    if (options.language && !/^en(-[a-z]{2})?$/i.test(options.language)) {
      throw new AppError(
        'VALIDATION_FAILED',
        `pocketsphinx has an English model only; cannot transcribe language "${options.language}"`,
      );
    }
    const keywords = uniqueKeywords(options.keywords ?? []);
    await this.acquire();
    try {
      return await withDecodedAudio(
        audio,
        { ffmpegPath: this.ffmpeg, tmpDir: this.tmpDir, maxDurationMs: this.maxDurationMs, timeoutMs: 120_000 },
        async (decoded) => {
          const spot = keywords.length > 0 && this.keywordSpotting !== 'transcript';
          // The two passes are independent processes: run them side by side on a multi-core host.
          const [segments, spotted] = await Promise.all([
            this.decode(decoded),
            spot ? this.spotKeywords(decoded, keywords) : Promise.resolve([]),
          ]);
          const words: TranscriptWord[] = segments
            .filter((s) => !s.filler)
            .map((s) => ({
              word: s.word,
              startMs: s.startMs,
              endMs: Math.min(s.endMs, decoded.durationMs),
              confidence: s.confidence,
            }));
          const fromWords = this.keywordSpotting === 'kws' ? [] : matchKeywords(keywords, words);
          return {
            text: words.map((w) => w.word).join(' '),
            words,
            durationMs: decoded.durationMs,
            engine: this.engine,
            model: this.model,
            keywordHits: mergeHits(fromWords, spotted),
          };
        },
      );
    } finally {
      this.release();
    }
  }

  private get hmmDir() {
    return path.join(this.modelDir, path.basename(this.modelDir));
  }
  private get lmPath() {
    return path.join(this.modelDir, `${path.basename(this.modelDir)}.lm.bin`);
  }
  private get dictPath() {
    return path.join(this.modelDir, `cmudict-${path.basename(this.modelDir)}.dict`);
  }

  private baseArgs(decoded: DecodedAudio): string[] {
    return [
      '-infile',
      decoded.rawPath,
      '-samprate',
      '16000',
      '-hmm',
      this.hmmDir,
      '-dict',
      this.dictPath,
      '-time',
      'yes',
    ];
  }

  private async run(args: string[], decoded: DecodedAudio): Promise<string> {
    const timeoutMs = this.timeoutMs + Math.ceil(decoded.durationMs / 1000) * this.timeoutPerAudioSecondMs;
    const result = await runProcess(this.pocketsphinx, args, { timeoutMs });
    if (result.code !== 0) {
      throw new AppError(
        'INTERNAL',
        `pocketsphinx failed (exit ${result.code ?? result.signal}): ${lastLines(result.stderrTail)}`,
      );
    }
    return result.stdout;
  }

  private async decode(decoded: DecodedAudio): Promise<PocketsphinxSegment[]> {
    const stdout = await this.run([...this.baseArgs(decoded), '-lm', this.lmPath, ...this.decoderArgs], decoded);
    return parseSegments(stdout);
  }

  private async spotKeywords(decoded: DecodedAudio, keywords: string[]): Promise<KeywordHit[]> {
    const dictionary = await this.loadDictionary();
    // The CLI's keyphrase is in dictionary words; a keyword with an unknown word cannot be
    // listened for and is left to transcript matching (which needs the LM to know it too).
    const phrases = new Map<string, string>();
    const lines: string[] = [];
    for (const keyword of keywords) {
      const words = normaliseWords(keyword);
      const phones = words.reduce((n, w) => n + (dictionary.get(w) ?? Number.NaN), 0);
      if (!Number.isFinite(phones) || words.length === 0) continue;
      const phrase = words.join(' ');
      phrases.set(phrase, keyword);
      lines.push(`${phrase} /1e-${Math.round(this.kwsExponent * phones)}/`);
    }
    if (lines.length === 0) return [];
    const kwsPath = path.join(decoded.dir, 'keyphrases.txt');
    await writeFile(kwsPath, `${lines.join('\n')}\n`);
    const stdout = await this.run([...this.baseArgs(decoded), '-kws', kwsPath], decoded);
    return parseSegments(stdout).flatMap((s) => {
      const keyword = phrases.get(s.word);
      return keyword ? [{ keyword, startMs: s.startMs, confidence: s.confidence }] : [];
    });
  }

  /** Word → phone count of its first pronunciation, read once from the CMU dictionary. */
  private loadDictionary(): Promise<Map<string, number>> {
    this.dictionary ??= readFile(this.dictPath, 'utf8').then((text) => {
      const map = new Map<string, number>();
      for (const line of text.split('\n')) {
        const [head, ...phones] = line.trim().split(/\s+/);
        if (!head || phones.length === 0) continue;
        const word = head.replace(/\(\d+\)$/, '');
        if (!map.has(word)) map.set(word, phones.length);
      }
      return map;
    });
    return this.dictionary;
  }

  private async acquire(): Promise<void> {
    if (this.running < this.maxConcurrent) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}

/** Within this distance a spotted keyword is taken as the same occurrence as a transcript hit. */
const SAME_OCCURRENCE_MS = 1000;

/** Transcript hits, plus spotted hits of a keyword where the transcript has none nearby. */
export function mergeHits(fromWords: readonly KeywordHit[], spotted: readonly KeywordHit[]): KeywordHit[] {
  const extra = spotted.filter(
    (s) => !fromWords.some((w) => w.keyword === s.keyword && Math.abs(w.startMs - s.startMs) <= SAME_OCCURRENCE_MS),
  );
  return [...fromWords, ...extra].sort((a, b) => a.startMs - b.startMs || a.keyword.localeCompare(b.keyword));
}

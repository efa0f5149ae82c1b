import type { TranscriptWord } from './transcriber.ts';

/** A silence between two recognised words. */
export interface Pause {
  /** End of the word before the pause. */
  startMs: number;
  /** Start of the word after it. */
  endMs: number;
  durationMs: number;
}

/** A run of consecutive words the engine was unsure of: worth a listen before trusting the text. */
export interface LowConfidenceSpan {
  startMs: number;
  endMs: number;
  /** The words of the run, joined by spaces. */
  text: string;
  wordCount: number;
  /** The lowest word confidence in the run, 0..1. */
  minConfidence: number;
}

export interface SpeechMetrics {
  wordCount: number;
  /** From the first word's start to the last word's end; silence before and after is not speech. */
  speakingMs: number;
  /** Words over `speakingMs`, pauses included (a long hesitation slows the rate); 0 without words. */
  wordsPerMinute: number;
  /** Silence before the first word: how long the candidate took to start answering. */
  leadingSilenceMs: number;
  /** Gaps between consecutive words of at least `minPauseMs`, in time order. */
  pauses: Pause[];
  /** Sum of `pauses`. */
  totalPauseMs: number;
  longestPauseMs: number;
  lowConfidenceSpans: LowConfidenceSpan[];
}

export interface SpeechMetricsOptions {
  /**
   * Shorter gaps are not pauses. Default 500 ms: conversational speech has inter-word gaps well
   * under 250 ms, and hesitation studies usually count silences from 250–500 ms up; pocketsphinx
   * word boundaries are only accurate to a few frames, so the higher end avoids counting noise.
   */
  minPauseMs?: number;
  /** A word below this confidence is low. Default 0.5. */
  lowConfidenceBelow?: number;
}

/**
 * Fluency figures from a transcript's word timings. Engines' confidences are on different scales
 * (see each adapter), so compare low-confidence spans only between transcripts of one engine.
 */
export function speechMetrics(
  transcript: { words: readonly TranscriptWord[] },
  options: SpeechMetricsOptions = {},
): SpeechMetrics {
  const minPauseMs = options.minPauseMs ?? 500;
  const lowBelow = options.lowConfidenceBelow ?? 0.5;
  // Engines return words in order, but a merged result may not be: sort a copy, never the input.
  const words = [...transcript.words].sort((a, b) => a.startMs - b.startMs);
  const first = words[0];
  const last = words[words.length - 1];
  if (!first || !last) {
    return {
      wordCount: 0,
      speakingMs: 0,
      wordsPerMinute: 0,
      leadingSilenceMs: 0,
      pauses: [],
      totalPauseMs: 0,
      longestPauseMs: 0,
      lowConfidenceSpans: [],
    };
  }
  const speakingMs = Math.max(0, Math.max(...words.map((w) => w.endMs)) - first.startMs);

  const pauses: Pause[] = [];
  let spokenUntil = first.endMs;
  for (const word of words.slice(1)) {
    const gap = word.startMs - spokenUntil;
    if (gap >= minPauseMs) pauses.push({ startMs: spokenUntil, endMs: word.startMs, durationMs: gap });
    spokenUntil = Math.max(spokenUntil, word.endMs);
  }

  const lowConfidenceSpans: LowConfidenceSpan[] = [];
  let run: TranscriptWord[] = [];
  const closeRun = () => {
    if (run.length === 0) return;
    lowConfidenceSpans.push({
      startMs: run[0]!.startMs,
      endMs: Math.max(...run.map((w) => w.endMs)),
      text: run.map((w) => w.word).join(' '),
      wordCount: run.length,
      minConfidence: Math.min(...run.map((w) => w.confidence)),
    });
    run = [];
  };
  for (const word of words) {
    if (word.confidence < lowBelow) run.push(word);
    else closeRun();
  }
  closeRun();

  const totalPauseMs = pauses.reduce((s, p) => s + p.durationMs, 0);
  return {
    wordCount: words.length,
    speakingMs,
    wordsPerMinute: speakingMs > 0 ? (words.length * 60_000) / speakingMs : 0,
    leadingSilenceMs: first.startMs,
    pauses,
    totalPauseMs,
    longestPauseMs: pauses.reduce((m, p) => Math.max(m, p.durationMs), 0),
    lowConfidenceSpans,
  };
}

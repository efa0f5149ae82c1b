import type { TranscriptWord } from '../../infra/db/schema.ts';
import { speechMetrics } from '../../infra/transcriber/index.ts';
import { round2 } from './session-score.ts';

export const BEHAVIORAL_SCORE_VERSION = 'behavioral-score/v1';

const FILLERS = new Set(['um', 'uh', 'er', 'erm', 'ah', 'hmm', 'mm', 'uhm']);
/** A silence at least this long between words counts as a long pause. */
export const LONG_PAUSE_MS = 2_000;

export interface DeliveryFigures {
  wordsPerMinute: number;
  longPauses: number;
  longPausesPerMinute: number;
  fillerWords: number;
  fillerShare: number;
  speakingMs: number;
}

/** Fluency figures of one recorded answer from its word timings; null without words. */
export function deliveryFigures(words: readonly TranscriptWord[]): DeliveryFigures | null {
  if (words.length === 0) return null;
  const m = speechMetrics(
    { words: words.map((w) => ({ ...w, confidence: w.confidence ?? 1 })) },
    { minPauseMs: LONG_PAUSE_MS },
  );
  const fillers = words.filter((w) => FILLERS.has(w.word.toLowerCase().replace(/[^a-z]/g, ''))).length;
  const minutes = Math.max(m.speakingMs, 1) / 60_000;
  return {
    wordsPerMinute: round2(m.wordsPerMinute),
    longPauses: m.pauses.length,
    longPausesPerMinute: round2(m.pauses.length / minutes),
    fillerWords: fillers,
    fillerShare: round2(fillers / words.length),
    speakingMs: m.speakingMs,
  };
}

/**
 * Behavioural score of one answer, 0–5 = 5 × the mean of:
 * pace — 1 within 110–170 words/min, falling linearly to 0 at 60 and at 240;
 * pauses — 1 − (long pauses per minute) / 6, at least 0;
 * fillers — 1 − 10 × (share of filler words), at least 0.
 */
export function behavioralScore(f: DeliveryFigures): number {
  const wpm = f.wordsPerMinute;
  const pace = wpm < 110 ? Math.max(0, (wpm - 60) / 50) : wpm > 170 ? Math.max(0, 1 - (wpm - 170) / 70) : 1;
  const pauses = Math.max(0, 1 - f.longPausesPerMinute / 6);
  const fillers = Math.max(0, 1 - 10 * f.fillerShare);
  return round2((5 * (pace + pauses + fillers)) / 3);
}

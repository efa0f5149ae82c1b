import type { ScoreWeights } from '../../infra/db/schema.ts';

/** Stored as the "prompt version" of session-level scores: bump when a formula below changes. */
export const SESSION_SCORE_VERSION = 'session-score/v1';

/** Parts of a session's final score, each 0–5; a part that does not count is absent, never 0. */
export interface ScoreParts {
  answers?: number;
  emotion?: number;
  behavioral?: number;
}

/**
 * Final score, 0–5: the weighted mean of the parts present, with the interview's weights
 * (`answers` defaults to 1, the others to 0). A part that is absent leaves the mean, so a candidate
 * who declined video analysis is judged on the answers alone. Null when no weighted part exists.
 */
export function finalScore(parts: ScoreParts, weights: ScoreWeights = {}): number | null {
  const w = { answers: weights.answers ?? 1, emotion: weights.emotion ?? 0, behavioral: weights.behavioral ?? 0 };
  let sum = 0;
  let total = 0;
  for (const k of ['answers', 'emotion', 'behavioral'] as const) {
    const v = parts[k];
    if (v === undefined || w[k] <= 0) continue;
    sum += v * w[k];
    total += w[k];
  }
  return total === 0 ? null : round2(sum / total);
}

/** Mean of per-answer scores (each 0–5); a question not answered counts as 0. */
export function answersScore(perAnswer: number[]): number | undefined {
  return perAnswer.length ? round2(perAnswer.reduce((a, b) => a + b, 0) / perAnswer.length) : undefined;
}

/** Weighted mean of criterion scores by the rubric weights, two decimals. */
export function weightedMean(items: { score: number; weight: number }[]): number {
  const total = items.reduce((s, i) => s + i.weight, 0);
  return total === 0 ? 0 : round2(items.reduce((s, i) => s + i.score * i.weight, 0) / total);
}

export const round2 = (x: number): number => Math.round(x * 100) / 100;

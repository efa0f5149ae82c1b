import { normaliseWords } from './text-normalise.ts';

export interface WordErrors {
  /** (substitutions + deletions + insertions) / reference words; 0 when both are empty. */
  wer: number;
  substitutions: number;
  deletions: number;
  insertions: number;
  /** Words in the normalised reference (the denominator). */
  referenceWords: number;
  hypothesisWords: number;
}

/**
 * Word error rate: the Levenshtein distance between the normalised word sequences (unit costs
 * for substitution, deletion and insertion), divided by the reference length. Among alignments
 * of minimal cost, substitutions are preferred, as NIST sclite does. Can exceed 1 when the
 * hypothesis has many insertions.
 */
export function wordErrorRate(reference: string, hypothesis: string): WordErrors {
  return wordErrorRateOfWords(normaliseWords(reference), normaliseWords(hypothesis));
}

export function wordErrorRateOfWords(ref: readonly string[], hyp: readonly string[]): WordErrors {
  const n = ref.length;
  const m = hyp.length;
  // dist[i][j]: cost of turning ref[0..i) into hyp[0..j); kept whole for the backtrace.
  const dist: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = 0; i <= n; i++) dist[i]![0] = i;
  for (let j = 0; j <= m; j++) dist[0]![j] = j;
  for (let i = 1; i <= n; i++) {
    const row = dist[i]!;
    const prev = dist[i - 1]!;
    for (let j = 1; j <= m; j++) {
      const sub = prev[j - 1]! + (ref[i - 1] === hyp[j - 1] ? 0 : 1);
      row[j] = Math.min(sub, prev[j]! + 1, row[j - 1]! + 1);
    }
  }
  let substitutions = 0;
  let deletions = 0;
  let insertions = 0;
  let i = n;
  let j = m;
  while (i > 0 || j > 0) {
    const here = dist[i]![j]!;
    if (i > 0 && j > 0 && here === dist[i - 1]![j - 1]! + (ref[i - 1] === hyp[j - 1] ? 0 : 1)) {
      if (ref[i - 1] !== hyp[j - 1]) substitutions++;
      i--;
      j--;
    } else if (i > 0 && here === dist[i - 1]![j]! + 1) {
      deletions++;
      i--;
    } else {
      insertions++;
      j--;
    }
  }
  const errors = substitutions + deletions + insertions;
  return {
    wer: n === 0 ? (m === 0 ? 0 : 1) : errors / n,
    substitutions,
    deletions,
    insertions,
    referenceWords: n,
    hypothesisWords: m,
  };
}

/** Pooled WER over several files: total errors over total reference words (not a mean of rates). */
export function pooledWordErrorRate(results: readonly WordErrors[]): number {
  const words = results.reduce((s, r) => s + r.referenceWords, 0);
  const errors = results.reduce((s, r) => s + r.substitutions + r.deletions + r.insertions, 0);
  return words === 0 ? 0 : errors / words;
}

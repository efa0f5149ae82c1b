import { describe, expect, it } from 'vitest';
import { speechMetrics } from './transcriber.ts';
import type { TranscriptWord } from './transcriber.ts';

const w = (word: string, startMs: number, endMs: number, confidence = 0.9): TranscriptWord => ({
  word,
  startMs,
  endMs,
  confidence,
});

describe('speechMetrics', () => {
  it('counts words per minute over the time from the first word to the last', () => {
    // 4 words between 1 s and 3 s: 120 words per minute; the silence before and after is not counted.
    const m = speechMetrics({
      words: [w('a', 1000, 1400), w('b', 1500, 2000), w('c', 2100, 2500), w('d', 2600, 3000)],
    });
    expect(m.wordCount).toBe(4);
    expect(m.speakingMs).toBe(2000);
    expect(m.wordsPerMinute).toBe(120);
    expect(m.leadingSilenceMs).toBe(1000);
  });

  it('reports gaps between words from the threshold up as pauses', () => {
    const words = [w('so', 0, 300), w('first', 700, 1000), w('then', 2500, 2800), w('done', 2900, 3200)];
    const m = speechMetrics({ words }, { minPauseMs: 400 });
    expect(m.pauses).toEqual([
      { startMs: 300, endMs: 700, durationMs: 400 },
      { startMs: 1000, endMs: 2500, durationMs: 1500 },
    ]);
    expect(m.totalPauseMs).toBe(1900);
    expect(m.longestPauseMs).toBe(1500);
    expect(speechMetrics({ words }).pauses.map((p) => p.durationMs)).toEqual([1500]);
  });

  it('measures a pause from the end of the latest word even when words overlap', () => {
    const m = speechMetrics({ words: [w('long', 0, 2000), w('short', 500, 700), w('next', 2600, 2900)] });
    expect(m.pauses).toEqual([{ startMs: 2000, endMs: 2600, durationMs: 600 }]);
  });

  it('groups consecutive words below the confidence threshold into spans', () => {
    const words = [
      w('the', 0, 100, 0.95),
      w('hash', 100, 300, 0.3),
      w('not', 300, 500, 0.2),
      w('to', 500, 600, 0.8),
      w('count', 600, 900, 0.1),
    ];
    expect(speechMetrics({ words }).lowConfidenceSpans).toEqual([
      { startMs: 100, endMs: 500, text: 'hash not', wordCount: 2, minConfidence: 0.2 },
      { startMs: 600, endMs: 900, text: 'count', wordCount: 1, minConfidence: 0.1 },
    ]);
    expect(speechMetrics({ words }, { lowConfidenceBelow: 0.25 }).lowConfidenceSpans.map((s) => s.text)).toEqual([
      'not',
      'count',
    ]);
  });

  it('works on words given out of order without reordering the caller’s list', () => {
    const words = [w('b', 1000, 1200), w('a', 0, 200)];
    const m = speechMetrics({ words }, { minPauseMs: 500 });
    expect(m.pauses).toEqual([{ startMs: 200, endMs: 1000, durationMs: 800 }]);
    expect(words[0]!.word).toBe('b');
  });

  it('gives zeros for a transcript without words', () => {
    expect(speechMetrics({ words: [] })).toEqual({
      wordCount: 0,
      speakingMs: 0,
      wordsPerMinute: 0,
      leadingSilenceMs: 0,
      pauses: [],
      totalPauseMs: 0,
      longestPauseMs: 0,
      lowConfidenceSpans: [],
    });
  });
});

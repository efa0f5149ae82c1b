import { describe, expect, it } from 'vitest';
import { formatPosition, wordIndexAt } from './transcript-sync.ts';

const WORDS = [
  { word: 'we', startMs: 500, endMs: 800 },
  { word: 'rolled', startMs: 800, endMs: 1300 },
  { word: 'back', startMs: 1300, endMs: 1700 },
  { word: 'then', startMs: 5000, endMs: 5300 },
];

describe('the word lit while a recording plays', () => {
  it('is none before the first word', () => {
    expect(wordIndexAt(WORDS, 0)).toBe(-1);
    expect(wordIndexAt(WORDS, 499)).toBe(-1);
    expect(wordIndexAt([], 1000)).toBe(-1);
  });

  it('is the word being spoken, changing exactly at the next word’s start', () => {
    expect(wordIndexAt(WORDS, 500)).toBe(0);
    expect(wordIndexAt(WORDS, 799)).toBe(0);
    expect(wordIndexAt(WORDS, 800)).toBe(1);
    expect(wordIndexAt(WORDS, 1650)).toBe(2);
    expect(wordIndexAt(WORDS, 5000)).toBe(3);
    expect(wordIndexAt(WORDS, 60_000)).toBe(-1);
  });

  it('stays on the last word through a short pause, and goes dark in a long one', () => {
    expect(wordIndexAt(WORDS, 2500)).toBe(2);
    expect(wordIndexAt(WORDS, 2701)).toBe(-1);
    expect(wordIndexAt(WORDS, 4999)).toBe(-1);
  });
});

describe('positions in a recording', () => {
  it('reads as minutes, seconds and tenths', () => {
    expect(formatPosition(0)).toBe('0:00.0');
    expect(formatPosition(5_340)).toBe('0:05.3');
    expect(formatPosition(65_000)).toBe('1:05.0');
  });
});

import { describe, expect, it } from 'vitest';
import { normaliseWord, normaliseWords, stem } from './text-normalise.ts';

describe('normaliseWords', () => {
  it('lower-cases, drops punctuation and splits on hyphens and slashes, keeping apostrophes inside words', () => {
    expect(normaliseWords('Because of that, threads don’t share I/O; trade-offs!')).toEqual([
      'because',
      'of',
      'that',
      'threads',
      "don't",
      'share',
      'i',
      'o',
      'trade',
      'offs',
    ]);
    expect(normaliseWords("  'quoted'  ")).toEqual(['quoted']);
    expect(normaliseWords('n log n in 2 steps')).toEqual(['n', 'log', 'n', 'in', '2', 'steps']);
    expect(normaliseWord('Hash-Map,')).toBe('hash map');
  });
});

describe('stem', () => {
  it.each([
    ['conditions', 'condition'],
    ['locks', 'lock'],
    ['locked', 'lock'],
    ['locking', 'lock'],
    ['creates', 'creat'],
    ['created', 'creat'],
    ['creating', 'creat'],
    ['stopped', 'stop'],
    ['queries', 'query'],
    ['caches', 'cach'],
    ['processes', 'process'],
    ["team's", 'team'],
    ['running', 'run'],
    ['data', 'datum'],
  ])('%s → %s', (word, expected) => {
    expect(stem(word)).toBe(expected);
  });

  it('leaves short words and words ending in -ss, -us, -is alone', () => {
    for (const word of ['is', 'was', 'bus', 'process', 'status', 'analysis']) expect(stem(word)).toBe(word);
  });
});

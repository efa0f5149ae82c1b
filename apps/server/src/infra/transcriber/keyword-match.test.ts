import { describe, expect, it } from 'vitest';
import { matchKeywords, uniqueKeywords } from './keyword-match.ts';
import type { TranscriptWord } from './transcriber.ts';

function words(text: string, confidences: number[] = []): TranscriptWord[] {
  return text
    .split(' ')
    .map((word, i) => ({ word, startMs: i * 100, endMs: i * 100 + 90, confidence: confidences[i] ?? 1 }));
}

describe('matchKeywords', () => {
  it('matches inflected forms and reports the keyword as given, at its first word', () => {
    const hits = matchKeywords(['Race Condition', 'lock'], words('to avoid race conditions they locked it'));
    expect(hits).toEqual([
      { keyword: 'Race Condition', startMs: 200, confidence: 1 },
      { keyword: 'lock', startMs: 500, confidence: 1 },
    ]);
  });

  it('lets compounds meet however they are spelled', () => {
    expect(matchKeywords(['hash map'], words('a hashmap or hash maps or a Hash-Map')).map((h) => h.startMs)).toEqual([
      100, 300, 700,
    ]);
    expect(matchKeywords(['database'], words('our data base')).map((h) => h.startMs)).toEqual([100]);
    expect(matchKeywords(['trade-off'], words('wrote the tradeoffs')).map((h) => h.startMs)).toEqual([200]);
  });

  it('gives a phrase the confidence of its least confident word', () => {
    const [hit] = matchKeywords(['context switch'], words('a context switch', [1, 0.9, 0.4]));
    expect(hit?.confidence).toBe(0.4);
  });

  it('finds every occurrence once, in time order, and nothing for absent keywords', () => {
    const hits = matchKeywords(['thread', 'mutex', 'process'], words('threads and a process and a thread'));
    expect(hits.map((h) => [h.keyword, h.startMs])).toEqual([
      ['thread', 0],
      ['process', 300],
      ['thread', 600],
    ]);
  });

  it('does not match a keyword inside a longer word', () => {
    expect(matchKeywords(['lock'], words('the block is unlocked'))).toEqual([]);
  });
});

describe('uniqueKeywords', () => {
  it('drops blanks and case-insensitive duplicates, keeping the first spelling trimmed', () => {
    expect(uniqueKeywords([' Hash Map ', 'hash-map', '', '  ', 'HASH MAP', 'heap'])).toEqual(['Hash Map', 'heap']);
  });
});

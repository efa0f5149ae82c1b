import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pooledWordErrorRate, wordErrorRate, wordErrorRateOfWords } from './word-error-rate.ts';

describe('wordErrorRate', () => {
  it('counts substitutions, deletions and insertions against the normalised reference', () => {
    const r = wordErrorRate('I led a team of four.', 'i lead a team of for engineers');
    expect(r).toMatchObject({ substitutions: 2, deletions: 0, insertions: 1, referenceWords: 6, hypothesisWords: 7 });
    expect(r.wer).toBeCloseTo(3 / 6, 10);
    expect(wordErrorRate('one two three', 'one three')).toMatchObject({ deletions: 1, substitutions: 0, wer: 1 / 3 });
  });

  it('is 0 for identical text up to case and punctuation, and handles empty sides', () => {
    expect(wordErrorRate('Hello, World!', 'hello world').wer).toBe(0);
    expect(wordErrorRate('', '').wer).toBe(0);
    expect(wordErrorRate('', 'noise').wer).toBe(1);
    expect(wordErrorRate('two words', '')).toMatchObject({ deletions: 2, wer: 1 });
  });

  it('has error counts that account for both lengths, whatever the input', () => {
    const sentence = fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 12 });
    fc.assert(
      fc.property(sentence, sentence, (ref, hyp) => {
        const r = wordErrorRateOfWords(ref, hyp);
        expect(r.referenceWords - r.deletions + r.insertions).toBe(hyp.length);
        expect(r.substitutions + r.deletions + r.insertions).toBeGreaterThanOrEqual(Math.abs(ref.length - hyp.length));
        expect(r.substitutions + r.deletions + r.insertions).toBeLessThanOrEqual(Math.max(ref.length, hyp.length));
      }),
    );
  });

  it('pools errors over reference words, not rates over files', () => {
    const short = wordErrorRate('a', 'b');
    const long = wordErrorRate('a b c d e f g h i', 'a b c d e f g h i');
    expect(pooledWordErrorRate([short, long])).toBeCloseTo(1 / 10, 10);
    expect(pooledWordErrorRate([])).toBe(0);
  });
});

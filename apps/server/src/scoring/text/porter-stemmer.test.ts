import { describe, expect, it } from 'vitest';
import { porterStem } from './porter-stemmer.ts';

// Pairs from Martin Porter's published sample vocabulary (voc.txt / output.txt).
const SAMPLES: [string, string][] = [
  ['caresses', 'caress'],
  ['ponies', 'poni'],
  ['ties', 'ti'],
  ['cats', 'cat'],
  ['feed', 'feed'],
  ['agreed', 'agre'],
  ['plastered', 'plaster'],
  ['motoring', 'motor'],
  ['sing', 'sing'],
  ['conflated', 'conflat'],
  ['troubled', 'troubl'],
  ['sized', 'size'],
  ['hopping', 'hop'],
  ['falling', 'fall'],
  ['filing', 'file'],
  ['happy', 'happi'],
  ['relational', 'relat'],
  ['conditional', 'condit'],
  ['rational', 'ration'],
  ['digitizer', 'digit'],
  ['operator', 'oper'],
  ['generalization', 'gener'],
  ['hopefulness', 'hope'],
  ['formality', 'formal'],
  ['sensitivity', 'sensit'],
  ['triplicate', 'triplic'],
  ['electrical', 'electr'],
  ['revival', 'reviv'],
  ['allowance', 'allow'],
  ['adjustment', 'adjust'],
  ['adoption', 'adopt'],
  ['controlling', 'control'],
  ['generate', 'gener'],
  ['probate', 'probat'],
  ['rate', 'rate'],
  ['cease', 'ceas'],
  ['roll', 'roll'],
  ['yield', 'yield'],
];

describe('porterStem', () => {
  it.each(SAMPLES)('stems %s to %s', (word, stem) => {
    expect(porterStem(word)).toBe(stem);
  });

  it('brings word forms used in interview answers to one stem', () => {
    const forms = ['synchronization', 'synchronize', 'synchronized', 'synchronizing'];
    expect(new Set(forms.map(porterStem)).size).toBe(1);
    expect(porterStem('threads')).toBe(porterStem('thread'));
    expect(porterStem('conditions')).toBe(porterStem('condition'));
  });
});

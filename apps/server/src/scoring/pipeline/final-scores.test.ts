import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { criterionArea, finalScores, type AreaScore } from './final-scores.ts';

describe('criterionArea', () => {
  it.each([
    [{ key: 'clarity', name: 'Clarity' }, 'communication'],
    [{ name: 'Communication skills' }, 'communication'],
    [{ key: 'structure', name: 'Answer structure (STAR)' }, 'communication'],
    [{ name: 'Clear and concise' }, 'communication'],
    [{ key: 'accuracy', name: 'Technical accuracy' }, 'technical'],
    [{ name: 'Choice of data structures' }, 'technical'],
    [{ key: 'data_structure', name: 'Data structure' }, 'technical'],
    [{ name: 'Continuous delivery practices' }, 'technical'],
    [{ name: 'Depth' }, 'technical'],
  ] as const)('%o is %s', (criterion, area) => {
    expect(criterionArea(criterion)).toBe(area);
  });
});

const c = (answerId: string, area: AreaScore['area'], score: number, weight = 1): AreaScore => ({
  answerId,
  area,
  score,
  weight,
});

describe('finalScores', () => {
  it('splits one question by its criteria; overall is the rubric-weighted mean', () => {
    const f = finalScores({ criteria: [c('q1', 'technical', 4, 2), c('q1', 'communication', 1, 1)] });
    expect(f).toMatchObject({ technical: 4, communication: 1, overall: 3 });
    expect(f.weights).toEqual({ technical: 0.6667, communication: 0.3333, emotion: 0 });
    expect(f.emotion).toBeUndefined();
  });

  it('leaves a part absent, not zero, when nothing feeds it', () => {
    const f = finalScores({ criteria: [c('q1', 'technical', 3)], weights: { answers: 1, emotion: 1, behavioral: 1 } });
    expect(f).toMatchObject({ technical: 3, overall: 3 });
    expect('communication' in f).toBe(false);
    expect('emotion' in f).toBe(false);
    expect(f.weights).toEqual({ technical: 1, communication: 0, emotion: 0 });
  });

  it('folds delivery into communication with the behavioral weight and counts emotion with its own', () => {
    const f = finalScores({
      criteria: [c('q1', 'technical', 4), c('q1', 'communication', 2)],
      delivery: 5,
      emotion: 1,
      weights: { answers: 2, behavioral: 1, emotion: 1 },
    });
    // K weight 2·0.5 = 1, D weight 1 → C = (2 + 5) / 2
    expect(f).toMatchObject({ technical: 4, communication: 3.5, emotion: 1 });
    expect(f.weights).toEqual({ technical: 1, communication: 2, emotion: 1 });
    expect(f.overall).toBe(3); // (4 + 2·3.5 + 1) / 4
    expect(f.components).toEqual({ communicationCriteria: 2, delivery: 5, technicalShare: 0.5 });
  });

  it('shows delivery as communication even when its weight is 0, without moving the overall score', () => {
    const f = finalScores({ criteria: [c('q1', 'technical', 2)], delivery: 4 });
    expect(f).toMatchObject({ technical: 2, communication: 4, overall: 2 });
    expect(f.weights.communication).toBe(0);
  });

  it('is null overall when no part carries weight', () => {
    expect(finalScores({ criteria: [], emotion: 3 }).overall).toBeNull();
  });

  it('never moves the overall score: it equals the weighted mean of the answer scores, delivery and emotion', () => {
    const score = fc.integer({ min: 0, max: 500 }).map((x) => x / 100);
    const question = fc.array(
      fc.record({
        area: fc.constantFrom('technical' as const, 'communication' as const),
        weight: fc.integer({ min: 1, max: 5 }),
        score,
      }),
      { minLength: 1, maxLength: 4 },
    );
    fc.assert(
      fc.property(
        fc.array(question, { minLength: 1, maxLength: 5 }),
        fc.option(score, { nil: undefined }),
        fc.option(score, { nil: undefined }),
        fc.record({ answers: fc.integer({ min: 0, max: 3 }), behavioral: fc.nat(3), emotion: fc.nat(3) }),
        (questions, delivery, emotion, weights) => {
          const criteria = questions.flatMap((q, i) => q.map((x) => c(`q${i}`, x.area, x.score, x.weight)));
          const perQuestion = questions.map(
            (q) => q.reduce((s, x) => s + x.score * x.weight, 0) / q.reduce((s, x) => s + x.weight, 0),
          );
          const parts = [
            { v: perQuestion.reduce((a, b) => a + b, 0) / perQuestion.length, w: weights.answers },
            ...(delivery === undefined ? [] : [{ v: delivery, w: weights.behavioral }]),
            ...(emotion === undefined ? [] : [{ v: emotion, w: weights.emotion }]),
          ];
          const total = parts.reduce((s, p) => s + p.w, 0);
          const f = finalScores({ criteria, delivery, emotion, weights });
          if (total === 0) return f.overall === null;
          const expected = parts.reduce((s, p) => s + p.v * p.w, 0) / total;
          return f.overall !== null && Math.abs(f.overall - expected) <= 0.005 + 1e-9;
        },
      ),
    );
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rubricVersion } from './rubric-version.ts';
import { criterionKey, toScoringRubric } from './rubric-mapper.ts';
import { OfflineAnswerAnalyzer } from './offline/offline-scorer.ts';
import { UseLiteEmbedder } from './offline/sentence-embedder.ts';
import { SPEECH_DATA_DIR, SPEECH_QUESTIONS } from './testing/speech-rubrics.ts';

const bank = {
  criteria: [
    {
      key: 'depth',
      name: 'Depth',
      weight: 2,
      anchors: { '0': 'Nothing relevant.', '1': 'Shallow.', '3': 'Some depth.', '5': 'Thorough.' },
    },
    { key: 'depth-2', name: 'depth', weight: 1, anchors: { '1': 'Shallow.', '3': 'Fair.', '5': 'Deep.' } },
  ],
  idealAnswer: '',
  keyConcepts: [],
};

describe('question bank rubric → scoring rubric', () => {
  it('keeps keys, weights and every anchor level including 0, and accepts an empty ideal answer', () => {
    const r = toScoringRubric(bank, 'q@3');
    expect(r.version).toBe('q@3');
    expect(rubricVersion(r)).toBe('q@3');
    expect(r.idealAnswer).toBe('');
    expect(r.criteria.map(criterionKey)).toEqual(['depth', 'depth-2']);
    expect(r.criteria[0]).toMatchObject({ weight: 2, anchors: { '0': 'Nothing relevant.', '5': 'Thorough.' } });
  });

  it('tells apart names that differ only in case by their key, since models answer by name', () => {
    expect(toScoringRubric(bank, 'v').criteria.map((c) => c.name)).toEqual(['Depth (depth)', 'depth (depth-2)']);
  });
});

describe('offline scorer without an ideal answer', () => {
  const analyzer = new OfflineAnswerAnalyzer(new UseLiteEmbedder());

  it.each(['q1', 'q3'])('still ranks the good answer to %s above the weak one', async (q) => {
    const { question, rubric } = SPEECH_QUESTIONS[q]!;
    const r = toScoringRubric(
      {
        criteria: rubric.criteria.map((c, i) => ({
          key: `c${i}`,
          name: c.name,
          weight: c.weight ?? 1,
          anchors: c.anchors as { '1': string; '3': string; '5': string },
        })),
        idealAnswer: '',
        keyConcepts: rubric.keyConcepts ?? [],
      },
      `${q}-no-ideal`,
    );
    const read = (f: string) => readFileSync(new URL(f, SPEECH_DATA_DIR), 'utf8');
    const good = await analyzer.analyze({ question, rubric: r, transcript: read(`${q}_good.txt`) });
    const weak = await analyzer.analyze({ question, rubric: r, transcript: read(`${q}_weak.txt`) });
    expect(good.overall).toBeGreaterThan(weak.overall);
    expect(good.criteria[0]!.rationale).not.toContain('ideal answer');
  });
});

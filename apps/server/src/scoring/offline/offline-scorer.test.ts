import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { ZRubric } from '@parley/contracts';
import { beforeAll, describe, expect, it } from 'vitest';
import { SPEECH_DATA_DIR, SPEECH_QUESTIONS } from '../testing/speech-rubrics.ts';
import { OfflineAnswerAnalyzer } from './offline-scorer.ts';
import { UseLiteEmbedder } from './sentence-embedder.ts';

const read = (name: string) => readFileSync(new URL(name, SPEECH_DATA_DIR), 'utf8').trim();

describe('offline scorer on the recorded interview answers', () => {
  let analyzer: OfflineAnswerAnalyzer;
  beforeAll(() => {
    analyzer = new OfflineAnswerAnalyzer(new UseLiteEmbedder());
  });

  const pairs = readdirSync(SPEECH_DATA_DIR)
    .flatMap((f) => /^(q\d+)_good\.txt$/.exec(f)?.[1] ?? [])
    .filter((q) => existsSync(new URL(`${q}_weak.txt`, SPEECH_DATA_DIR)))
    .sort();

  it('finds good/weak pairs to compare', () => {
    expect(pairs.length).toBeGreaterThanOrEqual(3);
  });

  it.each(pairs)('ranks the good answer to %s above the weak one', async (q) => {
    const spec = SPEECH_QUESTIONS[q];
    if (!spec) throw new Error(`no rubric for ${q}: add one to testing/speech-rubrics.ts`);
    const rubric = ZRubric.parse(spec.rubric);
    const good = await analyzer.analyze({ question: spec.question, rubric, transcript: read(`${q}_good.txt`) });
    const weak = await analyzer.analyze({ question: spec.question, rubric, transcript: read(`${q}_weak.txt`) });
    expect(good.overall).toBeGreaterThan(weak.overall);
    for (const [i, c] of good.criteria.entries()) expect(c.score).toBeGreaterThan(weak.criteria[i]!.score);
  });
});

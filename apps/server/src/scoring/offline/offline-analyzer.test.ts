import { ZRubric } from '@parley/contracts';
import { describe, expect, it } from 'vitest';
import { answerAnalyzerContract } from '../answer-analyzer.contract.ts';
import { OfflineAnswerAnalyzer } from './offline-scorer.ts';
import { UseLiteEmbedder } from './sentence-embedder.ts';

const embedder = new UseLiteEmbedder();
const analyzer = new OfflineAnswerAnalyzer(embedder);

answerAnalyzerContract('offline', () => analyzer);

const rubric = ZRubric.parse({
  criteria: [
    {
      name: 'Accuracy',
      anchors: { '1': 'Wrong or missing.', '5': 'Explains synchronization of shared state with locks.' },
    },
  ],
  idealAnswer: 'Threads share state, so access must be synchronized, for example with a mutex or lock.',
  keyConcepts: ['synchronization', 'shared state'],
});
const question = 'How do threads stay safe?';

describe('offline scorer', () => {
  it('loads its sentence-embedding model from the npm package, with no network', async () => {
    const [a, b] = await embedder.embed(['the cat sat', 'a cat was sitting']);
    expect(a).toHaveLength(512);
    expect(b).toHaveLength(512);
  });

  it('matches key concepts in other word forms', async () => {
    const a = await analyzer.analyze({
      question,
      rubric,
      transcript: 'We synchronize threads because they are sharing state.',
    });
    expect(a.gaps.join(' ')).not.toContain('Does not mention');
    expect(a.strengths.join(' ')).toContain('"synchronization"');
  });

  it('names the key concepts an answer leaves out and asks about one', async () => {
    const a = await analyzer.analyze({ question, rubric, transcript: 'Threads are fast and I like them a lot.' });
    expect(a.gaps.join(' ')).toContain('"synchronization"');
    expect(a.followUpQuestion).toContain('synchronization');
  });

  it('scores an off-topic answer below an on-topic one', async () => {
    const on = await analyzer.analyze({
      question,
      rubric,
      transcript: 'Shared state is protected by a lock, so only one thread changes it at a time.',
    });
    const off = await analyzer.analyze({
      question,
      rubric,
      transcript: 'My favourite holiday was a week of hiking in the mountains.',
    });
    expect(on.overall).toBeGreaterThan(off.overall + 1);
  });

  it('gives zero, with no evidence, to an empty answer', async () => {
    const a = await analyzer.analyze({ question, rubric, transcript: '  ' });
    expect(a.overall).toBe(0);
    expect(a.criteria[0]).toMatchObject({ score: 0, evidence: [] });
  });

  it('is deterministic', async () => {
    const transcript = 'Use a mutex around the shared counter.';
    const [x, y] = await Promise.all([
      analyzer.analyze({ question, rubric, transcript }),
      analyzer.analyze({ question, rubric, transcript }),
    ]);
    expect(x).toEqual(y);
  });
});

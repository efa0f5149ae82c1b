import { ZAnswerAnalysis, ZRubric } from '@parley/contracts';
import { describe, expect, it } from 'vitest';
import type { AnswerAnalyzer } from './answer-analyzer.ts';
import { rubricVersion } from './rubric-version.ts';
import { isVerbatimQuote } from './text/quotes.ts';

const question = 'Why would you add an index to a database table?';
const rubric = ZRubric.parse({
  criteria: [
    {
      name: 'Technical accuracy',
      weight: 2,
      anchors: {
        '1': 'Does not know what an index does.',
        '5': 'Explains faster lookups at the cost of slower writes and storage.',
      },
    },
    { name: 'Communication', anchors: { '1': 'Unclear.', '3': 'Understandable.', '5': 'Clear and concise.' } },
  ],
  idealAnswer:
    'An index lets the database find rows without scanning the whole table, so reads that filter or join on the indexed column get much faster. The cost is extra storage and slower inserts and updates, because the index must be maintained.',
  keyConcepts: ['avoid full table scan', 'faster reads', 'slower writes'],
});
const transcript =
  'An index speeds up queries that filter on a column because the database no longer scans every row. But every insert also has to update the index, so writes get slower.';

/** Behaviour every `AnswerAnalyzer` shares; each implementation's test runs it. */
export function answerAnalyzerContract(name: string, make: () => AnswerAnalyzer | Promise<AnswerAnalyzer>): void {
  describe(`${name} answer analyzer`, () => {
    it('judges every rubric criterion, in rubric order, on the 0–5 scale', async () => {
      const a = await (await make()).analyze({ question, rubric, transcript });
      expect(ZAnswerAnalysis.safeParse(a).success).toBe(true);
      expect(a.criteria.map((c) => c.criterion)).toEqual(['Technical accuracy', 'Communication']);
      for (const c of a.criteria) {
        expect(c.score).toBeGreaterThanOrEqual(0);
        expect(c.score).toBeLessThanOrEqual(5);
        expect(c.rationale).not.toMatch(/\n/);
      }
    });

    it('quotes its evidence verbatim from the transcript', async () => {
      const a = await (await make()).analyze({ question, rubric, transcript });
      const quotes = a.criteria.flatMap((c) => c.evidence);
      expect(quotes.length).toBeGreaterThan(0);
      for (const q of quotes) expect(isVerbatimQuote(q, transcript)).toBe(true);
    });

    it('records provider, model, prompt version and rubric version', async () => {
      const analyzer = await make();
      const a = await analyzer.analyze({ question, rubric, transcript });
      expect(a.provenance.provider).toBe(analyzer.provider);
      expect(a.provenance.model).toMatch(/\S/);
      expect(a.provenance.promptVersion).toMatch(/\S/);
      expect(a.provenance.rubricVersion).toBe(rubricVersion(rubric));
      expect(rubricVersion(ZRubric.parse({ ...rubric, version: 'v9' }))).toBe('v9');
    });

    it('makes the overall score the weighted mean of the criteria', async () => {
      const a = await (await make()).analyze({ question, rubric, transcript });
      const [tech, comm] = a.criteria.map((c) => c.score) as [number, number];
      expect(a.overall).toBeCloseTo((2 * tech + comm) / 3, 2);
    });
  });
}

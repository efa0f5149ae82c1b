/**
 * `npm run eval:scoring -- <file.json>`: scores each answer in the file with the configured
 * scorer (first of LLM_PROVIDERS; offline by default) and prints one JSON object as the last
 * line: `{"scores": {"<id>": <overall 0–5>}}`. Per-answer details go to stderr.
 */
import { readFileSync } from 'node:fs';
import { ZRubric } from '@parley/contracts';
import { z } from 'zod';
import { loadConfig } from '../../config.ts';
import { createAnswerAnalyzer } from '../create-answer-analyzer.ts';

const ZEvalInput = z.object({
  question: z.string().min(1),
  rubric: ZRubric,
  answers: z.array(z.object({ id: z.string().min(1), text: z.string() })).min(1),
});

async function main(argv: string[]): Promise<void> {
  const file = argv.find((a) => !a.startsWith('-'));
  if (!file) throw new Error('usage: npm run eval:scoring -- <file.json>');
  const input = ZEvalInput.parse(JSON.parse(readFileSync(file, 'utf8')));
  const config = loadConfig();
  const provider = config.llm.providers[0] ?? 'offline';
  const analyzer = createAnswerAnalyzer(provider, config.llm);
  const scores: Record<string, number> = {};
  for (const answer of input.answers) {
    const analysis = await analyzer.analyze({
      question: input.question,
      rubric: input.rubric,
      transcript: answer.text,
    });
    scores[answer.id] = analysis.overall;
    process.stderr.write(`${JSON.stringify({ id: answer.id, ...analysis })}\n`);
  }
  process.stdout.write(`${JSON.stringify({ scores })}\n`);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`eval:scoring failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});

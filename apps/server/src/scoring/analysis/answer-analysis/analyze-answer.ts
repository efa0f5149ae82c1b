import { ZAnswerAnalysis, type TAnswerAnalysis } from '@parley/contracts';
import type { AnalysisRequest } from '../../answer-analyzer.ts';
import { llmError, llmFailureOf } from '../../llm/llm-error.ts';
import type { StructuredLlm } from '../../llm/structured-llm.ts';
import { overallScore, rubricVersion } from '../../rubric-version.ts';
import { isVerbatimQuote } from '../../text/quotes.ts';
import { buildRepairPrompt, buildUserPrompt, PROMPT_VERSION, SYSTEM_PROMPT } from './prompt.ts';
import { ANSWER_ANALYSIS_JSON_SCHEMA, ZAnswerAnalysisOutput, type TAnswerAnalysisOutput } from './schema.ts';

export interface AnalyzeAnswerOptions {
  /** Model calls per answer, counting the first; only invalid output is re-asked. */
  maxAttempts?: number;
  maxOutputTokens?: number;
  signal?: AbortSignal;
}

/**
 * Asks the model to judge one answer and returns it only once it passes the output schema and
 * the checks the schema cannot express (one entry per rubric criterion, verbatim evidence).
 * Anything else is re-asked up to `maxAttempts` times, then fails with `invalid_output`.
 */
export async function analyzeAnswer(
  llm: StructuredLlm,
  request: AnalysisRequest,
  options: AnalyzeAnswerOptions = {},
): Promise<TAnswerAnalysis> {
  const maxAttempts = options.maxAttempts ?? 3;
  const user = buildUserPrompt(request.question, request.rubric, request.transcript);
  let problems: string[] = [];
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    let reply;
    try {
      reply = await llm.generate(
        {
          system: SYSTEM_PROMPT,
          user: problems.length ? `${user}\n\n${buildRepairPrompt(problems)}` : user,
          schemaName: 'answer_analysis',
          schemaDescription: 'Rubric-anchored analysis of one interview answer',
          jsonSchema: ANSWER_ANALYSIS_JSON_SCHEMA,
          maxOutputTokens: options.maxOutputTokens ?? 2000,
        },
        options.signal,
      );
    } catch (e) {
      if (llmFailureOf(e)?.reason !== 'invalid_output') throw e;
      problems = [(e as Error).message];
      continue;
    }
    const parsed = ZAnswerAnalysisOutput.safeParse(reply.value);
    problems = parsed.success
      ? checkAgainstRequest(parsed.data, request)
      : parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    if (problems.length === 0 && parsed.success) {
      return toAnalysis(parsed.data, request, { provider: llm.provider, model: reply.model });
    }
  }
  throw llmError(
    { provider: llm.provider, reason: 'invalid_output' },
    `${llm.provider}: no valid answer analysis after ${maxAttempts} attempts: ${problems.slice(0, 3).join('; ')}`,
  );
}

function checkAgainstRequest(output: TAnswerAnalysisOutput, request: AnalysisRequest): string[] {
  const problems: string[] = [];
  const expected = request.rubric.criteria.map((c) => c.name);
  const got = output.criteria.map((c) => c.criterion);
  for (const name of expected) {
    const n = got.filter((g) => g === name).length;
    if (n !== 1) problems.push(`criterion "${name}" must appear exactly once (found ${n})`);
  }
  for (const name of got) if (!expected.includes(name)) problems.push(`"${name}" is not a rubric criterion`);
  for (const c of output.criteria) {
    for (const quote of c.evidence) {
      if (!isVerbatimQuote(quote, request.transcript)) {
        problems.push(
          `evidence for "${c.criterion}" is not a quote from the transcript: ${JSON.stringify(quote.slice(0, 80))}`,
        );
      }
    }
  }
  return problems;
}

function toAnalysis(
  output: TAnswerAnalysisOutput,
  request: AnalysisRequest,
  by: { provider: TAnswerAnalysis['provenance']['provider']; model: string },
): TAnswerAnalysis {
  const order = new Map(request.rubric.criteria.map((c, i) => [c.name, i]));
  const criteria = [...output.criteria].sort((a, b) => (order.get(a.criterion) ?? 0) - (order.get(b.criterion) ?? 0));
  return ZAnswerAnalysis.parse({
    criteria,
    overall: overallScore(request.rubric, new Map(criteria.map((c) => [c.criterion, c.score]))),
    strengths: output.strengths,
    gaps: output.gaps,
    followUpQuestion: output.followUpQuestion,
    provenance: { ...by, promptVersion: PROMPT_VERSION, rubricVersion: rubricVersion(request.rubric) },
  });
}

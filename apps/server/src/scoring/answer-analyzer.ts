import type { TAnalysisProvenance, TAnswerAnalysis, TRubric } from '@parley/contracts';

/** One answer to judge: the question asked, its rubric and what the candidate said. */
export interface AnalysisRequest {
  question: string;
  rubric: TRubric;
  transcript: string;
}

/**
 * Judges one answer against its rubric. Implementations: a hosted LLM (OpenAI, Anthropic) through
 * the answer-analysis task, and the offline scorer. All return the same validated shape, with
 * the provider, model, prompt version and rubric version that produced it.
 */
export interface AnswerAnalyzer {
  readonly provider: TAnalysisProvenance['provider'];
  readonly model: string;
  analyze(request: AnalysisRequest, signal?: AbortSignal): Promise<TAnswerAnalysis>;
}

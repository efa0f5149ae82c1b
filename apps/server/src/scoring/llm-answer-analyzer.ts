import type { TAnswerAnalysis } from '@parley/contracts';
import { analyzeAnswer, type AnalyzeAnswerOptions } from './analysis/answer-analysis/analyze-answer.ts';
import type { AnalysisRequest, AnswerAnalyzer } from './answer-analyzer.ts';
import type { StructuredLlm } from './llm/structured-llm.ts';

/** A hosted model judging answers through the answer-analysis task. */
export class LlmAnswerAnalyzer implements AnswerAnalyzer {
  constructor(
    private readonly llm: StructuredLlm,
    private readonly options: Omit<AnalyzeAnswerOptions, 'signal'> = {},
  ) {}

  get provider() {
    return this.llm.provider;
  }

  get model() {
    return this.llm.model;
  }

  analyze(request: AnalysisRequest, signal?: AbortSignal): Promise<TAnswerAnalysis> {
    return analyzeAnswer(this.llm, request, { ...this.options, signal });
  }
}

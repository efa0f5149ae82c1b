/**
 * The scoring context: analysis of interview answers against rubrics by a hosted LLM (OpenAI,
 * Anthropic) or the offline scorer. This file is its only door.
 */
export type { AnalysisRequest, AnswerAnalyzer } from './answer-analyzer.ts';
export { createAnswerAnalyzer, type ProviderName } from './create-answer-analyzer.ts';
export { LlmAnswerAnalyzer } from './llm-answer-analyzer.ts';
export { analyzeAnswer, type AnalyzeAnswerOptions } from './analysis/answer-analysis/analyze-answer.ts';
export { PROMPT_VERSION } from './analysis/answer-analysis/prompt.ts';
export { OfflineAnswerAnalyzer, OFFLINE_SCORER_VERSION, OFFLINE_WEIGHTS } from './offline/offline-scorer.ts';
export { UseLiteEmbedder, type SentenceEmbedder } from './offline/sentence-embedder.ts';
export { OpenAiLlm } from './llm/openai-llm.ts';
export { AnthropicLlm } from './llm/anthropic-llm.ts';
export type {
  LlmClientOptions,
  LlmProviderName,
  StructuredLlm,
  StructuredReply,
  StructuredRequest,
} from './llm/structured-llm.ts';
export { llmFailureOf, type LlmFailure, type LlmFailureReason } from './llm/llm-error.ts';
export { overallScore, rubricVersion } from './rubric-version.ts';

import type { Config } from '../config.ts';
import { AppError } from '../shared/app-error.ts';
import type { AnswerAnalyzer } from './answer-analyzer.ts';
import { AnthropicLlm } from './llm/anthropic-llm.ts';
import { OpenAiLlm } from './llm/openai-llm.ts';
import { LlmAnswerAnalyzer } from './llm-answer-analyzer.ts';
import { OfflineAnswerAnalyzer } from './offline/offline-scorer.ts';
import { UseLiteEmbedder, type SentenceEmbedder } from './offline/sentence-embedder.ts';

export type ProviderName = Config['llm']['providers'][number];

/**
 * The one place a provider name becomes an analyzer. `apiKey` comes from the caller (the key
 * store, or the environment for the CLI); the offline scorer needs none.
 */
export function createAnswerAnalyzer(
  provider: ProviderName,
  llm: Config['llm'],
  deps: { apiKey?: string; embedder?: SentenceEmbedder } = {},
): AnswerAnalyzer {
  if (provider === 'offline') return new OfflineAnswerAnalyzer(deps.embedder ?? new UseLiteEmbedder());
  const apiKey = deps.apiKey ?? (provider === 'openai' ? llm.openai.apiKey : llm.anthropic.apiKey);
  if (!apiKey) {
    throw new AppError('SERVICE_UNAVAILABLE', `${provider}: no API key configured (${provider.toUpperCase()}_API_KEY)`);
  }
  const client =
    provider === 'openai'
      ? new OpenAiLlm({ apiKey, model: llm.openai.model, baseUrl: llm.openai.baseUrl, timeoutMs: llm.timeoutMs })
      : new AnthropicLlm({
          apiKey,
          model: llm.anthropic.model,
          baseUrl: llm.anthropic.baseUrl,
          timeoutMs: llm.timeoutMs,
        });
  return new LlmAnswerAnalyzer(client);
}

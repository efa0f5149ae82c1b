import type { Config } from '../config.ts';
import type { Cache } from '../infra/cache/cache.ts';
import type { Logger } from '../infra/log.ts';
import type { AnswerAnalyzer } from './answer-analyzer.ts';
import { createAnswerAnalyzer } from './create-answer-analyzer.ts';
import { FailoverAnalyzer } from './failover-analyzer.ts';
import type { ApiKeyRepository } from './keys/api-key.repository.ts';
import { KeyRotatingLlm, type KeyRotatingLlmDeps, type KeyRotationPolicy } from './keys/key-rotating-llm.ts';
import type { SecretBox } from './keys/secret-box.ts';
import { AnthropicLlm } from './llm/anthropic-llm.ts';
import { OpenAiLlm } from './llm/openai-llm.ts';
import { LlmAnswerAnalyzer } from './llm-answer-analyzer.ts';
import { OfflineAnswerAnalyzer } from './offline/offline-scorer.ts';
import { UseLiteEmbedder, type SentenceEmbedder } from './offline/sentence-embedder.ts';

export interface AnalyzerSourceDeps {
  llm: Config['llm'];
  keys: ApiKeyRepository;
  /** Null without SECRETS_KEY: only keys from the environment can be used then. */
  box: SecretBox | null;
  cache: Cache;
  logger?: Logger;
  embedder?: SentenceEmbedder;
  policy?: Partial<KeyRotationPolicy>;
  clock?: () => Date;
  onFailover?: KeyRotatingLlmDeps['onFailover'];
}

/**
 * The analyzer for one organisation: the providers of `LLM_PROVIDERS` in order, each through the
 * organisation's stored keys (rotation and failover) or, when it has none, the key from the
 * environment; a provider with neither is skipped. The chain always ends with the offline scorer,
 * so a session is scored even when every hosted provider fails.
 */
export function createAnalyzerSource(deps: AnalyzerSourceDeps): (orgId: string) => Promise<AnswerAnalyzer> {
  const offline = new OfflineAnswerAnalyzer(deps.embedder ?? new UseLiteEmbedder());
  return async (orgId) => {
    const chain: AnswerAnalyzer[] = [];
    for (const provider of deps.llm.providers) {
      if (provider === 'offline') {
        chain.push(offline);
        continue;
      }
      const settings = deps.llm[provider];
      const stored = deps.box ? (await deps.keys.list(orgId, provider)).filter((k) => k.isActive) : [];
      if (stored.length && deps.box) {
        const client = (key: { apiKey: string; model: string; baseUrl?: string }) => {
          const options = {
            apiKey: key.apiKey,
            model: key.model,
            baseUrl: key.baseUrl ?? settings.baseUrl,
            timeoutMs: deps.llm.timeoutMs,
            maxRetries: 0,
          };
          return provider === 'openai' ? new OpenAiLlm(options) : new AnthropicLlm(options);
        };
        chain.push(
          new LlmAnswerAnalyzer(
            new KeyRotatingLlm({
              orgId,
              provider,
              model: settings.model,
              repo: deps.keys,
              box: deps.box,
              cache: deps.cache,
              client,
              clock: deps.clock,
              policy: deps.policy,
              onFailover: deps.onFailover,
            }),
          ),
        );
      } else if (settings.apiKey) {
        chain.push(createAnswerAnalyzer(provider, deps.llm));
      }
    }
    if (!chain.includes(offline)) chain.push(offline);
    return chain.length === 1 ? chain[0]! : new FailoverAnalyzer(chain, deps.logger);
  };
}

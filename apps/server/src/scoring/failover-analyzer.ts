import type { TAnswerAnalysis } from '@parley/contracts';
import type { Logger } from '../infra/log.ts';
import type { AnalysisRequest, AnswerAnalyzer } from './answer-analyzer.ts';
import { llmFailureOf } from './llm/llm-error.ts';

/**
 * Providers in the configured order: when one fails (every key refused, rate limited, down, or no
 * valid output after its re-asks), the next one judges the answer. The analysis records which
 * provider and model produced it. Errors that are not provider failures are thrown at once.
 */
export class FailoverAnalyzer implements AnswerAnalyzer {
  constructor(
    private readonly chain: readonly AnswerAnalyzer[],
    private readonly logger?: Logger,
  ) {
    if (chain.length === 0) throw new Error('FailoverAnalyzer needs at least one analyzer');
  }

  get provider() {
    return this.chain[0]!.provider;
  }

  get model() {
    return this.chain[0]!.model;
  }

  async analyze(request: AnalysisRequest, signal?: AbortSignal): Promise<TAnswerAnalysis> {
    let last: unknown;
    for (const analyzer of this.chain) {
      try {
        return await analyzer.analyze(request, signal);
      } catch (err) {
        const failure = llmFailureOf(err);
        if (!failure) throw err;
        this.logger?.warn({ provider: failure.provider, reason: failure.reason }, 'provider failed; trying the next');
        last = err;
      }
    }
    throw last;
  }
}

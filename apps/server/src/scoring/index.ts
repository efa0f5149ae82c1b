import type { Counter, Histogram } from 'prom-client';
/**
 * The scoring context: analysis of interview answers against rubrics by a hosted LLM (OpenAI,
 * Anthropic) or the offline scorer. This file is its only door.
 */
import type { Config } from '../config.ts';
import type { Broker, QueueSpec } from '../infra/broker/broker.ts';
import type { Cache } from '../infra/cache/cache.ts';
import type { Database } from '../infra/db/database.ts';
import type { HttpServer } from '../infra/http/http-server.ts';
import type { Logger } from '../infra/log.ts';
import type { Storage } from '../infra/storage/storage.ts';
import type { Transcriber } from '../infra/transcriber/index.ts';
import { createAnalyzerSource } from './analyzer-source.ts';
import { ApiKeyRepository } from './keys/api-key.repository.ts';
import { ApiKeysService, type Audit } from './keys/api-keys.service.ts';
import { SecretBox } from './keys/secret-box.ts';
import { renderReportPdf, type PdfRenderer } from './reports/render-report-pdf.ts';
import { ReportService } from './reports/report.service.ts';
import {
  startScoringConsumer,
  type AnalyzerSource,
  type ScoringConsumer,
  type ScoringSessions,
} from './scoring.consumer.ts';
import { ScoringRepository } from './scoring.repository.ts';
import { registerScoringRoutes } from './scoring.routes.ts';

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
export { toScoringRubric, criterionKey } from './rubric-mapper.ts';
export { FailoverAnalyzer } from './failover-analyzer.ts';
export { createAnalyzerSource, type AnalyzerSourceDeps } from './analyzer-source.ts';
export { SecretBox } from './keys/secret-box.ts';
export { KeyRotatingLlm, DEFAULT_KEY_ROTATION, type KeyRotationPolicy } from './keys/key-rotating-llm.ts';
export { ApiKeysService, type Audit, type AuditEntry } from './keys/api-keys.service.ts';
export {
  startScoringConsumer,
  SCORING_QUEUE,
  SCORED_EVENT,
  type AnalyzerSource,
  type ScoringConsumer,
  type ScoringConsumerDeps,
  type ScoringSessions,
} from './scoring.consumer.ts';
export {
  ReportService,
  FORMULAS,
  REPORT_RENDER_REQUESTED,
  RENDER_RETRY_AFTER_SECONDS,
  RENDER_REQUEST_AGAIN_AFTER_MS,
  RENDER_FAILED_COOLDOWN_MS,
  type PdfAnswer,
  type RenderOutcome,
} from './reports/report.service.ts';
export { renderReportHtml } from './reports/render-report-html.ts';
export { renderReportPdf, type PdfOptions, type PdfRenderer } from './reports/render-report-pdf.ts';
export { finalScore, SESSION_SCORE_VERSION } from './pipeline/session-score.ts';
export { emotionScore, emotionInsights, EMOTION_SCORE_VERSION } from './pipeline/emotion-insights.ts';
export { behavioralScore, deliveryFigures, BEHAVIORAL_SCORE_VERSION } from './pipeline/behavioral-score.ts';
export {
  criterionArea,
  finalScores,
  COMMUNICATION_WORDS,
  FINAL_SCORES_VERSION,
  type CriterionArea,
  type FinalScores,
} from './pipeline/final-scores.ts';

export interface ScoringModuleDeps {
  config: Pick<Config, 'llm'>;
  database: Database;
  broker: Broker;
  storage: Storage;
  cache: Cache;
  logger: Logger;
  /** The interviews context's sessions (`InterviewsModule['sessions']`). */
  interviews: ScoringSessions;
  /** `createTranscriber(config)`; null without speech-to-text. Only the consumer uses it. */
  transcriber: Transcriber | null;
  /** Writes an audit row (`AccountsService.audit`). */
  audit: Audit;
  /** Replaces the configured providers (tests, the eval CLI); default: `createAnalyzerSource`. */
  analyzer?: AnalyzerSource;
  /** Prints report PDFs (in the report job only); default: `renderReportPdf` with the Debian Chromium. */
  renderPdf?: PdfRenderer;
  queue?: QueueSpec;
  clock?: () => Date;
  /** The process's Prometheus series (`container.metrics`). */
  metrics?: {
    scoringLatencySeconds: Histogram<'provider' | 'outcome'>;
    llmKeyFailovers: Counter<'provider' | 'reason'>;
  };
}

export interface ScoringModule {
  reports: ReportService;
  keys: ApiKeysService;
  /** Mounts the report (JSON, HTML, PDF), feedback, override and admin key routes; call before the server listens. */
  registerRoutes(app: HttpServer): void;
  /** Starts consuming `scoring.process` (the scoring role). Idempotent. */
  startConsumer(): Promise<void>;
  /** Stops the consumer; the session being scored finishes first. */
  stop(): Promise<void>;
}

/**
 * The scoring context. Routes expect `request.actor` set by the accounts context's hook. The
 * consumer scores sessions with the providers of `LLM_PROVIDERS`, through each organisation's
 * stored keys (encrypted under `SECRETS_KEY`), ending with the offline scorer.
 */
export function createScoringModule(deps: ScoringModuleDeps): ScoringModule {
  const repo = new ScoringRepository(deps.database);
  const keyRepo = new ApiKeyRepository(deps.database);
  const box = deps.config.llm.secretsKey ? new SecretBox(deps.config.llm.secretsKey) : null;
  const keys = new ApiKeysService(keyRepo, box, deps.audit);
  const reports = new ReportService({
    repo,
    sessions: deps.interviews,
    audit: deps.audit,
    storage: deps.storage,
    broker: deps.broker,
    renderPdf: deps.renderPdf ?? ((html) => renderReportPdf(html)),
    clock: deps.clock,
  });
  let consumer: Promise<ScoringConsumer> | undefined;
  return {
    reports,
    keys,
    registerRoutes: (app) => registerScoringRoutes(app, { reports, keys }),
    async startConsumer() {
      consumer ??= startScoringConsumer({
        database: deps.database,
        broker: deps.broker,
        storage: deps.storage,
        logger: deps.logger,
        transcriber: deps.transcriber,
        interviews: deps.interviews,
        queue: deps.queue,
        metrics: deps.metrics,
        analyzer:
          deps.analyzer ??
          createAnalyzerSource({
            llm: deps.config.llm,
            keys: keyRepo,
            box,
            cache: deps.cache,
            logger: deps.logger,
            clock: deps.clock,
            onFailover: (provider, reason) => deps.metrics?.llmKeyFailovers.inc({ provider, reason }),
          }),
      });
      await consumer;
    },
    async stop() {
      const running = consumer;
      consumer = undefined;
      await (await running)?.close();
    },
  };
}

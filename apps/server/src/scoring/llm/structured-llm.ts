import type { TAnalysisProvenance } from '@parley/contracts';

export type LlmProviderName = Exclude<TAnalysisProvenance['provider'], 'offline'>;

/** One request for a JSON object that follows `jsonSchema`. */
export interface StructuredRequest {
  system: string;
  user: string;
  /** Name of the object the model fills in (`[a-zA-Z0-9_-]`), e.g. `answer_analysis`. */
  schemaName: string;
  schemaDescription: string;
  /** JSON Schema (draft 2020-12 subset that both providers accept) of the expected object. */
  jsonSchema: Record<string, unknown>;
  maxOutputTokens: number;
}

export interface StructuredReply {
  /** The parsed JSON the model produced; not yet validated against any schema. */
  value: unknown;
  /** The model that answered, as the provider reports it. */
  model: string;
}

/**
 * A hosted language model that answers with one JSON object.
 *
 * Failures are `AppError`s whose `details` is an `LlmFailure` (see `llm-error.ts`): transport
 * failures after the SDK's own retries, and `invalid_output` when the reply holds no parsable
 * object (which callers may retry).
 */
export interface StructuredLlm {
  readonly provider: LlmProviderName;
  readonly model: string;
  generate(request: StructuredRequest, signal?: AbortSignal): Promise<StructuredReply>;
}

export interface LlmClientOptions {
  apiKey: string;
  model: string;
  baseUrl?: string;
  timeoutMs: number;
  /** Transport retries inside the SDK (429 honouring `retry-after`, 408/409, 5xx, timeouts). */
  maxRetries?: number;
}

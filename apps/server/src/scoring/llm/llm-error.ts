import { AppError, isAppError } from '../../shared/app-error.ts';
import type { LlmProviderName } from './structured-llm.ts';

/**
 * Why a call to a language model failed. The key-rotation layer reads `reason`: `auth` retires
 * a key, `rate_limit` / `server` / `timeout` / `network` try the next key or provider,
 * `invalid_output` re-asks, `bad_request` is our own bug and is not retried.
 */
export type LlmFailureReason =
  'auth' | 'rate_limit' | 'server' | 'timeout' | 'network' | 'invalid_output' | 'bad_request';

export interface LlmFailure {
  provider: LlmProviderName;
  reason: LlmFailureReason;
  status?: number;
  /** From `retry-after-ms` / `retry-after`, when the provider sent one. */
  retryAfterMs?: number;
}

const CODE_FOR: Record<LlmFailureReason, AppError['code']> = {
  auth: 'UPSTREAM_FAILED',
  rate_limit: 'SERVICE_UNAVAILABLE',
  server: 'UPSTREAM_FAILED',
  timeout: 'SERVICE_UNAVAILABLE',
  network: 'SERVICE_UNAVAILABLE',
  invalid_output: 'UPSTREAM_FAILED',
  bad_request: 'UPSTREAM_FAILED',
};

export function llmError(failure: LlmFailure, message: string): AppError {
  return new AppError(CODE_FOR[failure.reason], message, failure);
}

export function llmFailureOf(e: unknown): LlmFailure | undefined {
  if (!isAppError(e) || typeof e.details !== 'object' || e.details === null) return undefined;
  const d = e.details as Partial<LlmFailure>;
  return typeof d.reason === 'string' && typeof d.provider === 'string' ? (d as LlmFailure) : undefined;
}

/** Header lookup that works on a fetch `Headers` and on a plain record. */
type HeaderBag = { get(name: string): string | null } | Record<string, string | undefined> | undefined;

function header(headers: HeaderBag, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof headers.get === 'function') return (headers as { get(n: string): string | null }).get(name) ?? undefined;
  return (headers as Record<string, string | undefined>)[name];
}

export function retryAfterMs(headers: HeaderBag, now = Date.now()): number | undefined {
  const ms = Number(header(headers, 'retry-after-ms'));
  if (Number.isFinite(ms) && ms >= 0 && header(headers, 'retry-after-ms') !== undefined) return ms;
  const raw = header(headers, 'retry-after');
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** What an SDK error looks like once the vendor class has been recognised by the adapter. */
export interface SdkFailure {
  kind: 'status' | 'timeout' | 'connection';
  status?: number;
  headers?: HeaderBag;
  message: string;
}

export function fromSdkFailure(provider: LlmProviderName, f: SdkFailure): AppError {
  if (f.kind === 'timeout') return llmError({ provider, reason: 'timeout' }, `${provider}: request timed out`);
  if (f.kind === 'connection')
    return llmError({ provider, reason: 'network' }, `${provider}: connection failed: ${f.message}`);
  const status = f.status ?? 0;
  const reason: LlmFailureReason =
    status === 401 || status === 403
      ? 'auth'
      : status === 429
        ? 'rate_limit'
        : status === 408
          ? 'timeout'
          : status >= 500
            ? 'server'
            : 'bad_request';
  const failure: LlmFailure = { provider, reason, status };
  const after = retryAfterMs(f.headers);
  if (after !== undefined) failure.retryAfterMs = after;
  return llmError(failure, `${provider}: HTTP ${status}: ${f.message}`);
}

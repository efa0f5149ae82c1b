export interface BackoffOptions {
  /** Delay before the first retry. */
  initialMs: number;
  /** Cap on any delay. */
  maxMs: number;
  /** Growth per failed attempt. */
  factor: number;
  /** Share of the delay that is random (0 = none, 1 = anywhere from 0 to the full delay). */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.5 };

/**
 * Delay before retry number `attempt` (0-based): exponential, capped, with part of it random so
 * that many clients dropped at once do not all come back at the same instant.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const base = Math.min(options.maxMs, options.initialMs * options.factor ** Math.max(0, attempt));
  const jittered = base * (1 - options.jitter + options.jitter * random());
  return Math.max(0, Math.round(jittered));
}

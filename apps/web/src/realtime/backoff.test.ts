import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.ts';

const options = { initialMs: 500, maxMs: 10_000, factor: 2, jitter: 0.5 };

describe('reconnect backoff', () => {
  it('doubles with each attempt up to the cap', () => {
    const none = { ...options, jitter: 0 };
    expect([0, 1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, none))).toEqual([
      500, 1000, 2000, 4000, 8000, 10_000, 10_000,
    ]);
  });

  it('spreads clients out within the jitter share of the delay', () => {
    expect(backoffDelay(2, options, () => 0)).toBe(1000);
    expect(backoffDelay(2, options, () => 0.999_999)).toBe(2000);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(3, options);
      expect(d).toBeGreaterThanOrEqual(2000);
      expect(d).toBeLessThanOrEqual(4000);
    }
  });
});

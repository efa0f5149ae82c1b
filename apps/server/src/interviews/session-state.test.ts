import { describe, expect, it } from 'vitest';
import { assertTransition, canTransition, SESSION_STATUSES, sourcesOf } from './session-state.ts';

describe('session state machine (table)', () => {
  it('allows exactly the designed path and its exits', () => {
    const allowed = SESSION_STATUSES.flatMap((from) =>
      SESSION_STATUSES.filter((to) => canTransition(from, to)).map((to) => `${from}->${to}`),
    );
    expect(allowed.sort()).toEqual(
      [
        'invited->consented',
        'invited->expired',
        'invited->abandoned',
        'consented->in_progress',
        'consented->expired',
        'consented->abandoned',
        'in_progress->completed',
        'in_progress->expired',
        'in_progress->abandoned',
        'completed->scoring',
        'scoring->scored',
        'scoring->completed',
      ].sort(),
    );
  });

  it('has no way out of scored, expired and abandoned, and no self-loops', () => {
    for (const terminal of ['scored', 'expired', 'abandoned'] as const) {
      for (const to of SESSION_STATUSES) expect(canTransition(terminal, to)).toBe(false);
    }
    for (const s of SESSION_STATUSES) expect(canTransition(s, s)).toBe(false);
  });

  it('refuses an illegal move with ILLEGAL_TRANSITION naming both states', () => {
    expect(() => assertTransition('invited', 'completed')).toThrow(
      expect.objectContaining({ code: 'ILLEGAL_TRANSITION', details: { from: 'invited', to: 'completed' } }),
    );
    expect(() => assertTransition('invited', 'consented')).not.toThrow();
    expect(sourcesOf('abandoned').sort()).toEqual(['consented', 'in_progress', 'invited']);
  });
});

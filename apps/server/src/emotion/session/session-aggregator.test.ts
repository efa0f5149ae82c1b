import { describe, expect, it } from 'vitest';
import type { Expression } from '../emotion.types.ts';
import { EXPRESSIONS } from '../pipeline/expression-classifier.ts';
import { intervalsWhere, summarizeSession, type FrameRecord } from './session-aggregator.ts';

const onehot = (e: Expression, p = 0.8) => EXPRESSIONS.map((x) => (x === e ? p : (1 - p) / 6));

/** 10 frames/s; each second described by [faces, expression, away]. */
function frames(spec: [number, Expression | null, boolean][]): FrameRecord[] {
  const out: FrameRecord[] = [];
  spec.forEach(([faces, expr, away], s) => {
    for (let k = 0; k < 10; k++) {
      out.push({
        t: s * 1000 + k * 100,
        ok: true,
        faceCount: faces,
        ear: faces ? 0.4 : null,
        expression: faces ? expr : null,
        probabilities: faces && expr ? onehot(expr) : null,
        gazeAway: faces ? away : null,
      });
    }
  });
  return out;
}

describe('summarizeSession', () => {
  const spec: [number, Expression | null, boolean][] = [
    [1, 'neutral', false],
    [1, 'neutral', false],
    [0, null, false],
    [0, null, false],
    [1, 'happy', true],
    [2, 'happy', false],
    [2, 'neutral', false],
    [1, 'neutral', false],
  ];

  it('reports intervals with no face, with several faces and looking away, with their total time', () => {
    const s = summarizeSession(frames(spec));
    expect(s.noFace.intervals).toEqual([{ startMs: 2000, endMs: 4000 }]);
    expect(s.multipleFaces.intervals).toEqual([{ startMs: 5000, endMs: 7000 }]);
    expect(s.lookingAway.totalMs).toBe(1000);
    expect(s.durationMs).toBe(8000);
  });

  it('builds an expression timeline and picks the dominant expression by mean probability', () => {
    const s = summarizeSession(frames(spec));
    expect(s.expressions.timeline.map((t) => t.label)).toEqual(['neutral', 'happy', 'neutral']);
    expect(s.expressions.timeline[1]).toMatchObject({ startMs: 4000, endMs: 6000 });
    expect(s.expressions.dominant).toBe('neutral'); // 4 s neutral against 2 s happy
    expect(s.expressions.mean?.happy).toBeCloseTo((2 * 0.8 + 4 * (0.2 / 6)) / 6, 5);
  });

  it('smooths single-frame flicker out of the timeline but counts it against stability', () => {
    const f = frames([
      [1, 'neutral', false],
      [1, 'neutral', false],
      [1, 'neutral', false],
    ]);
    (f[12] as FrameRecord).expression = 'sad';
    (f[12] as FrameRecord).probabilities = onehot('sad');
    const s = summarizeSession(f);
    expect(s.expressions.timeline).toHaveLength(1);
    expect(s.expressions.stability).toBeCloseTo(1 - 2 / 29, 5);
  });

  it('keeps error frames out of every figure except the error count', () => {
    const f = frames([
      [1, 'neutral', false],
      [1, 'neutral', false],
    ]);
    f.splice(5, 0, {
      t: 550,
      ok: false,
      faceCount: 0,
      ear: null,
      expression: null,
      probabilities: null,
      gazeAway: null,
    });
    const s = summarizeSession(f);
    expect(s.errorFrames).toBe(1);
    expect(s.noFace.totalMs).toBe(0);
  });

  it('counts blinks from the records’ EAR series', () => {
    const f = frames(Array.from({ length: 20 }, () => [1, 'neutral', false] as [number, Expression, boolean]));
    for (const i of [30, 95, 160]) (f[i] as FrameRecord).ear = 0.1;
    expect(summarizeSession(f).blinks.count).toBe(3);
  });
});

describe('intervalsWhere', () => {
  it('extends the last interval by the median frame step', () => {
    const r = intervalsWhere(frames([[0, null, false]]), (x) => x.faceCount === 0);
    expect(r.intervals).toEqual([{ startMs: 0, endMs: 1000 }]);
  });
});

import { describe, expect, it } from 'vitest';
import { detectBlinks, type EarSample } from './blink-detector.ts';
import { earSeries } from '../testing/ear-series.ts';
import { LiveBlinkCounter } from './live-blink-counter.ts';

const series = (fps: number, seconds: number, blinksAt: number[]) => earSeries(fps, seconds, blinksAt);

describe('LiveBlinkCounter', () => {
  const blinksAt = [2.03, 7.51, 13.27, 31.02, 46.66, 52.4, 80.15, 101.9, 118.33];

  it('counts each blink once, on the frame the eye reopens, over a session longer than its history', () => {
    const counter = new LiveBlinkCounter({ historyMs: 30_000 });
    const countedAt: number[] = [];
    for (const s of series(10, 120, blinksAt)) if (counter.add(s) > 0) countedAt.push(s.t / 1000);
    expect(counter.total).toBe(blinksAt.length);
    countedAt.forEach((t, i) => {
      expect(t).toBeGreaterThan(blinksAt[i] as number);
      expect(t).toBeLessThan((blinksAt[i] as number) + 0.5);
    });
  });

  it('agrees with the batch detector on the same series', () => {
    const samples = series(10, 120, blinksAt);
    const counter = new LiveBlinkCounter();
    for (const s of samples) counter.add(s);
    expect(counter.total).toBe(detectBlinks(samples).count);
  });

  it('counts the same when neighbouring frames arrive swapped (competing deliveries)', () => {
    const samples = series(10, 60, blinksAt.slice(0, 6));
    for (let i = 0; i + 1 < samples.length; i += 2) {
      [samples[i], samples[i + 1]] = [samples[i + 1] as EarSample, samples[i] as EarSample];
    }
    const counter = new LiveBlinkCounter();
    for (const s of samples) counter.add(s);
    expect(counter.total).toBe(6);
  });

  it('does not count a closure interrupted by a lost face', () => {
    const samples = series(10, 20, [5.0, 12.0]).map((s) => (s.t >= 5_100 && s.t <= 5_150 ? { ...s, ear: null } : s));
    const counter = new LiveBlinkCounter();
    for (const s of samples) counter.add(s);
    expect(counter.total).toBe(1);
  });
});

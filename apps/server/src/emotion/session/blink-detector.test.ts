import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { detectBlinks, rollingBaseline, type EarSample } from './blink-detector.ts';

/** A deterministic PRNG so a failing case can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Synth {
  fps: number;
  seconds: number;
  openEar: number;
  closedEar: number;
  /** Blink start times (s); each blink closes over ~100 ms, stays ~60 ms and reopens over ~120 ms. */
  blinksAt: number[];
  noise?: number;
  seed?: number;
}

/** An EAR series like the Iris contour gives: a flat open level with short V-shaped dips. */
function synth({ fps, seconds, openEar, closedEar, blinksAt, noise = 0, seed = 1 }: Synth): EarSample[] {
  const rand = rng(seed);
  const out: EarSample[] = [];
  for (let i = 0; i < fps * seconds; i++) {
    const t = i / fps;
    let ear = openEar;
    for (const b of blinksAt) {
      const dt = t - b;
      if (dt >= 0 && dt < 0.1) ear = openEar - ((openEar - closedEar) * dt) / 0.1;
      else if (dt >= 0.1 && dt < 0.16) ear = closedEar;
      else if (dt >= 0.16 && dt < 0.28) ear = closedEar + ((openEar - closedEar) * (dt - 0.16)) / 0.12;
    }
    out.push({ t: t * 1000, ear: ear + (rand() * 2 - 1) * noise * openEar });
  }
  return out;
}

describe('detectBlinks', () => {
  it('counts every synthetic blink exactly, once each', () => {
    const blinksAt = [1.0, 3.5, 6.2, 9.9, 14.1];
    const r = detectBlinks(synth({ fps: 30, seconds: 20, openEar: 0.4, closedEar: 0.08, blinksAt }));
    expect(r.count).toBe(5);
    r.blinks.forEach((b, i) => {
      expect(b.startMs / 1000).toBeGreaterThanOrEqual(blinksAt[i] as number);
      expect(b.startMs / 1000).toBeLessThan((blinksAt[i] as number) + 0.2);
    });
    expect(r.perMinute).toBeCloseTo(15, 0);
  });

  it('finds no blink in an open-eye series with ±10 % measurement noise', () => {
    const r = detectBlinks(
      synth({ fps: 30, seconds: 60, openEar: 0.4, closedEar: 0.08, blinksAt: [], noise: 0.1, seed: 7 }),
    );
    expect(r.count).toBe(0);
  });

  it('calibrates to each person: the same blinks are found at very different open-eye levels', () => {
    const blinksAt = [2, 5, 8];
    for (const [open, closed] of [
      [0.22, 0.05],
      [0.3, 0.08],
      [0.48, 0.12],
    ] as const) {
      const r = detectBlinks(synth({ fps: 30, seconds: 10, openEar: open, closedEar: closed, blinksAt, noise: 0.04 }));
      expect(r.count, `open ${open}`).toBe(3);
      expect(r.baselineEar).toBeGreaterThan(open * 0.95);
    }
  });

  it('uses hysteresis: an eyelid fluttering around the close threshold counts as one blink', () => {
    const s: EarSample[] = [];
    const levels = [0.4, 0.4, 0.2, 0.27, 0.2, 0.27, 0.2, 0.4, 0.4];
    for (let i = 0; i < 300; i++) s.push({ t: i * 33, ear: 0.4 });
    levels.forEach((ear, i) => ((s[100 + i] as EarSample).ear = ear));
    expect(detectBlinks(s).count).toBe(1);
  });

  it('treats a closure longer than a blink as an eye closure, not a blink', () => {
    const s: EarSample[] = [];
    for (let i = 0; i < 600; i++) s.push({ t: i * 33, ear: i >= 200 && i < 260 ? 0.06 : 0.4 });
    const r = detectBlinks(s);
    expect(r.count).toBe(0);
    expect(r.longClosures).toBe(1);
  });

  it('does not count a dip interrupted by a lost face', () => {
    const s: EarSample[] = [];
    for (let i = 0; i < 300; i++) s.push({ t: i * 33, ear: 0.4 });
    (s[100] as EarSample).ear = 0.1;
    (s[101] as EarSample).ear = null;
    (s[102] as EarSample).ear = 0.4;
    expect(detectBlinks(s).count).toBe(0);
  });

  it('counts a blink seen in a single frame at a low frame rate', () => {
    const s: EarSample[] = [];
    for (let i = 0; i < 50; i++) s.push({ t: i * 200, ear: i === 20 || i === 35 ? 0.1 : 0.4 });
    expect(detectBlinks(s).count).toBe(2);
  });

  it('excludes time without a face from the blinks-per-minute denominator', () => {
    const s = synth({ fps: 10, seconds: 60, openEar: 0.4, closedEar: 0.08, blinksAt: [5, 15, 25] });
    for (const x of s) if (x.t >= 30_000) x.ear = null;
    const r = detectBlinks(s);
    expect(r.count).toBe(3);
    expect(r.observedMs).toBeLessThan(31_000);
    expect(r.perMinute).toBeCloseTo(6, 0);
  });

  it('property: any set of well-separated blinks over any baseline and mild noise is counted exactly', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 57 }), { maxLength: 12 }),
        fc.double({ min: 0.18, max: 0.55, noNaN: true }),
        fc.double({ min: 0.05, max: 0.35, noNaN: true }),
        fc.constantFrom(30, 15, 10),
        fc.integer({ min: 1, max: 1000 }),
        (starts, open, closedFraction, fps, seed) => {
          const blinksAt = starts.sort((a, b) => a - b);
          const series = synth({
            fps,
            seconds: 60,
            openEar: open,
            closedEar: open * closedFraction,
            blinksAt,
            noise: 0.05,
            seed,
          });
          expect(detectBlinks(series).count).toBe(blinksAt.length);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('rollingBaseline', () => {
  it('follows a slow change of the open-eye level (e.g. the candidate leans back)', () => {
    const s: EarSample[] = [];
    for (let i = 0; i < 1200; i++) s.push({ t: i * 50, ear: i < 600 ? 0.4 : 0.3 });
    const b = rollingBaseline(s, { baselinePercentile: 0.9, baselineWindowMs: 10_000 });
    expect(b[100]).toBeCloseTo(0.4, 5);
    expect(b[1100]).toBeCloseTo(0.3, 5);
  });
});

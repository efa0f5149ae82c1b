import type { EarSample } from '../session/blink-detector.ts';

/**
 * A synthetic eye-aspect-ratio series for blink tests: open eyes at 0.42 with a small
 * deterministic wobble, and V-shaped blinks (≈280 ms, down to 0.08) starting at `blinksAt`
 * (seconds). Timestamps are ms from `startMs`.
 */
export function earSeries(fps: number, seconds: number, blinksAt: number[], startMs = 0): EarSample[] {
  const out: EarSample[] = [];
  for (let i = 0; i < fps * seconds; i++) {
    const t = i / fps;
    let ear = 0.42 + 0.01 * Math.sin(i * 1.7);
    for (const b of blinksAt) {
      const dt = t - b;
      if (dt >= 0 && dt < 0.1) ear = 0.42 - (0.34 * dt) / 0.1;
      else if (dt >= 0.1 && dt < 0.16) ear = 0.08;
      else if (dt >= 0.16 && dt < 0.28) ear = 0.08 + (0.34 * (dt - 0.16)) / 0.12;
    }
    out.push({ t: startMs + Math.round(t * 1000), ear });
  }
  return out;
}

/** One eye-aspect-ratio reading; `ear` is null when no face (or no eyes) was measured. */
export interface EarSample {
  t: number;
  ear: number | null;
}

export interface BlinkOptions {
  /** The open-eye baseline is this percentile of EAR in a window around each sample. */
  baselinePercentile: number;
  /** Width of that window, ms. Wide enough that blinks (< 5 % of the time) barely move it. */
  baselineWindowMs: number;
  /** The eye counts as closed below closeRatio × baseline … */
  closeRatio: number;
  /** … and open again above openRatio × baseline (hysteresis: no double counts at the edge). */
  openRatio: number;
  /** Closed spans longer than this (first to last closed sample) are eye closures, not blinks. */
  maxBlinkMs: number;
  /** Samples further apart than this break the series (face lost, stream paused). */
  maxGapMs: number;
}

export const DEFAULT_BLINK_OPTIONS: BlinkOptions = {
  baselinePercentile: 0.9,
  baselineWindowMs: 20_000,
  closeRatio: 0.6,
  openRatio: 0.8,
  maxBlinkMs: 700,
  maxGapMs: 1_500,
};

export interface Blink {
  startMs: number;
  endMs: number;
  /** Lowest EAR during the blink, as a fraction of the open-eye baseline. */
  depth: number;
}

export interface BlinkReport {
  count: number;
  perMinute: number | null;
  blinks: Blink[];
  /** Closures longer than maxBlinkMs. */
  longClosures: number;
  /** Time with EAR readings, ms: the denominator of perMinute. */
  observedMs: number;
  /** Median open-eye baseline over the session. */
  baselineEar: number | null;
}

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.round(p * (sorted.length - 1))));
  return sorted[i] as number;
}

/**
 * Rolling open-eye baseline: the chosen high percentile of EAR within ±window/2 of each sample.
 * Relative thresholds make the detector calibrate to each person (and camera angle) by itself.
 */
export function rollingBaseline(
  samples: EarSample[],
  opts: Pick<BlinkOptions, 'baselinePercentile' | 'baselineWindowMs'>,
): (number | null)[] {
  const half = opts.baselineWindowMs / 2;
  const out: (number | null)[] = [];
  let lo = 0;
  let hi = 0;
  const window: number[] = []; // sorted EARs in [lo, hi)
  const insert = (v: number) => {
    let a = 0;
    let b = window.length;
    while (a < b) {
      const m = (a + b) >> 1;
      if ((window[m] as number) < v) a = m + 1;
      else b = m;
    }
    window.splice(a, 0, v);
  };
  const remove = (v: number) => {
    const i = window.indexOf(v);
    if (i >= 0) window.splice(i, 1);
  };
  for (const s of samples) {
    while (hi < samples.length && (samples[hi] as EarSample).t <= s.t + half) {
      const e = (samples[hi] as EarSample).ear;
      if (e !== null) insert(e);
      hi++;
    }
    while (lo < hi && (samples[lo] as EarSample).t < s.t - half) {
      const e = (samples[lo] as EarSample).ear;
      if (e !== null) remove(e);
      lo++;
    }
    out.push(window.length ? percentile(window, opts.baselinePercentile) : null);
  }
  return out;
}

/** Counts blinks in an EAR series (timestamps ascending). Pure. */
export function detectBlinks(input: EarSample[], options: Partial<BlinkOptions> = {}): BlinkReport {
  const opts = { ...DEFAULT_BLINK_OPTIONS, ...options };
  const samples = [...input].sort((a, b) => a.t - b.t);
  const baseline = rollingBaseline(samples, opts);
  const blinks: Blink[] = [];
  let longClosures = 0;
  let observedMs = 0;
  let closed: { start: number; last: number; min: number } | null = null;
  let prev: EarSample | null = null;

  for (let i = 0; i < samples.length; i++) {
    const s = samples[i] as EarSample;
    const base = baseline[i];
    const gap = prev === null || s.t - prev.t > opts.maxGapMs || prev.ear === null;
    if (s.ear === null || base === null || base === undefined || base <= 0) {
      closed = null; // a blink interrupted by a lost face is not counted
      prev = s;
      continue;
    }
    if (gap) closed = null;
    else observedMs += s.t - (prev as EarSample).t;
    const ratio = s.ear / base;
    if (closed) {
      if (ratio > opts.openRatio) {
        if (closed.last - closed.start <= opts.maxBlinkMs)
          blinks.push({ startMs: closed.start, endMs: s.t, depth: closed.min });
        else longClosures++;
        closed = null;
      } else if (ratio < opts.closeRatio) {
        closed.last = s.t;
        closed.min = Math.min(closed.min, ratio);
      } else {
        closed.min = Math.min(closed.min, ratio);
      }
    } else if (ratio < opts.closeRatio && !gap) {
      // Only a transition from a measured open-ish sample starts a blink.
      closed = { start: s.t, last: s.t, min: ratio };
    } else if (ratio < opts.closeRatio && gap) {
      closed = null;
    }
    prev = s;
  }

  const bases = baseline.filter((b): b is number => b !== null).sort((a, b) => a - b);
  return {
    count: blinks.length,
    perMinute: observedMs > 0 ? (blinks.length * 60_000) / observedMs : null,
    blinks,
    longClosures,
    observedMs,
    baselineEar: bases.length ? percentile(bases, 0.5) : null,
  };
}

import { detectBlinks, type BlinkOptions, type EarSample } from './blink-detector.ts';

export interface LiveBlinkOptions {
  blink: Partial<BlinkOptions>;
  /** EAR history kept per session, ms: enough for the baseline's past half-window and a blink. */
  historyMs: number;
}

export const DEFAULT_LIVE_BLINK_OPTIONS: LiveBlinkOptions = { blink: {}, historyMs: 30_000 };

/** Everything a counter knows, as plain JSON: what the cache keeps between frames (v1). */
export interface LiveBlinkState {
  v: 1;
  /** [t, ear] pairs, t ascending, within the history window. */
  samples: [number, number | null][];
  lastCountedEndMs: number | null;
  counted: number;
  /** [t, blinks] for readings within the history window that completed blinks. */
  credited: [number, number][];
}

/**
 * Counts blinks as frames arrive, in bounded memory: each reading re-runs the (pure) detector
 * over the recent EAR history, and a blink is counted once, when it has reopened, if it started
 * after the last counted one ended. At the live edge the open-eye baseline comes from the past
 * only, so it can differ slightly from the batch detector's centred window.
 *
 * Readings may arrive out of order (they are kept sorted by time). A reading whose time is
 * already held replaces it and gets the answer it got before — a frame analysed again after a
 * crash is credited with the same blinks, never twice.
 */
export class LiveBlinkCounter {
  private samples: EarSample[] = [];
  private lastCountedEndMs = -Infinity;
  private counted = 0;
  private credited = new Map<number, number>();
  private readonly options: LiveBlinkOptions;

  constructor(options: Partial<LiveBlinkOptions> = {}, state?: LiveBlinkState) {
    this.options = { ...DEFAULT_LIVE_BLINK_OPTIONS, ...options };
    if (state) {
      this.samples = state.samples.map(([t, ear]) => ({ t, ear }));
      this.lastCountedEndMs = state.lastCountedEndMs ?? -Infinity;
      this.counted = state.counted;
      this.credited = new Map(state.credited);
    }
  }

  /** Blinks counted so far. */
  get total(): number {
    return this.counted;
  }

  /** Adds one reading (`ear` null = no face); returns how many blinks completed with it. */
  add(sample: EarSample): number {
    const held = this.samples.findIndex((s) => s.t === sample.t);
    if (held >= 0) {
      this.samples[held] = sample;
      return this.credited.get(sample.t) ?? 0;
    }
    let i = this.samples.length;
    while (i > 0 && (this.samples[i - 1] as EarSample).t > sample.t) i--;
    this.samples.splice(i, 0, sample);
    const newest = (this.samples[this.samples.length - 1] as EarSample).t;
    const keepFrom = this.samples.findIndex((s) => s.t >= newest - this.options.historyMs);
    if (keepFrom > 0) this.samples.splice(0, keepFrom);
    for (const t of this.credited.keys()) if (t < newest - this.options.historyMs) this.credited.delete(t);

    const fresh = detectBlinks(this.samples, this.options.blink).blinks.filter(
      (b) => b.startMs > this.lastCountedEndMs,
    );
    for (const b of fresh) this.lastCountedEndMs = Math.max(this.lastCountedEndMs, b.endMs);
    this.counted += fresh.length;
    if (fresh.length > 0) this.credited.set(sample.t, fresh.length);
    return fresh.length;
  }

  state(): LiveBlinkState {
    return {
      v: 1,
      samples: this.samples.map((s) => [s.t, s.ear]),
      lastCountedEndMs: Number.isFinite(this.lastCountedEndMs) ? this.lastCountedEndMs : null,
      counted: this.counted,
      credited: [...this.credited],
    };
  }
}

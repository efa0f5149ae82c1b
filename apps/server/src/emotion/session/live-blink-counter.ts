import { detectBlinks, type BlinkOptions, type EarSample } from './blink-detector.ts';

export interface LiveBlinkOptions {
  blink: Partial<BlinkOptions>;
  /** EAR history kept per session, ms: enough for the baseline's past half-window and a blink. */
  historyMs: number;
}

export const DEFAULT_LIVE_BLINK_OPTIONS: LiveBlinkOptions = { blink: {}, historyMs: 30_000 };

/**
 * Counts blinks as frames arrive, in bounded memory: each reading re-runs the (pure) detector
 * over the recent EAR history, and a blink is counted once, when it has reopened, if it started
 * after the last counted one ended. At the live edge the open-eye baseline comes from the past
 * only, so it can differ slightly from the batch detector's centred window.
 */
export class LiveBlinkCounter {
  private samples: EarSample[] = [];
  private lastCountedEndMs = -Infinity;
  private counted = 0;
  private readonly options: LiveBlinkOptions;

  constructor(options: Partial<LiveBlinkOptions> = {}) {
    this.options = { ...DEFAULT_LIVE_BLINK_OPTIONS, ...options };
  }

  /** Blinks counted so far. */
  get total(): number {
    return this.counted;
  }

  /** Adds one reading (`ear` null = no face); returns how many blinks completed with it. */
  add(sample: EarSample): number {
    let i = this.samples.length;
    while (i > 0 && (this.samples[i - 1] as EarSample).t > sample.t) i--;
    this.samples.splice(i, 0, sample);
    const newest = (this.samples[this.samples.length - 1] as EarSample).t;
    const keepFrom = this.samples.findIndex((s) => s.t >= newest - this.options.historyMs);
    if (keepFrom > 0) this.samples.splice(0, keepFrom);

    const fresh = detectBlinks(this.samples, this.options.blink).blinks.filter(
      (b) => b.startMs > this.lastCountedEndMs,
    );
    for (const b of fresh) this.lastCountedEndMs = Math.max(this.lastCountedEndMs, b.endMs);
    this.counted += fresh.length;
    return fresh.length;
  }
}

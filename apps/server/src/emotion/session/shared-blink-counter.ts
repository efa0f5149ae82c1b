import type { Cache } from '../../infra/cache/cache.ts';
import { AppError } from '../../shared/app-error.ts';
import type { EarSample } from './blink-detector.ts';
import {
  DEFAULT_LIVE_BLINK_OPTIONS,
  LiveBlinkCounter,
  type LiveBlinkOptions,
  type LiveBlinkState,
} from './live-blink-counter.ts';

export interface SharedBlinkOptions extends LiveBlinkOptions {
  /** A session's state is forgotten this long after its last frame. */
  stateTtlSeconds: number;
  /** A crashed holder's lock lapses after this long. */
  lockLeaseSeconds: number;
  /** Give up waiting for the lock after this long (the frame is then retried by the broker). */
  lockWaitMs: number;
}

export const DEFAULT_SHARED_BLINK_OPTIONS: SharedBlinkOptions = {
  ...DEFAULT_LIVE_BLINK_OPTIONS,
  stateTtlSeconds: 15 * 60,
  lockLeaseSeconds: 5,
  lockWaitMs: 6_000,
};

/** What a reading did to its session's count. */
export interface BlinkTally {
  /** Blinks that completed with this reading. */
  inFrame: number;
  /** The session's blinks so far, whichever process counted them. */
  session: number;
}

const stateKey = (sessionId: string) => `emotion:blinks:${sessionId}`;
const lockKey = (sessionId: string) => `emotion:blinks:${sessionId}:lock`;

/**
 * Per-session blink counting shared by every emotion process: a session's EAR history and count
 * (a `LiveBlinkCounter`'s state) live in the cache port, and each reading is added under a
 * short per-session lock (an atomic counter: whoever makes it 1 holds it). So with N competing
 * consumers, whichever one analyses a frame continues the same series, in timestamp order, and
 * the session's count is the one a single process seeing every frame would reach.
 *
 * The lock is a lease: a holder that dies mid-update blocks the session for at most
 * `lockLeaseSeconds`. An update takes milliseconds, far inside the lease.
 */
export class SharedBlinkCounter {
  private readonly options: SharedBlinkOptions;

  constructor(
    private readonly cache: Cache,
    options: Partial<SharedBlinkOptions> = {},
  ) {
    this.options = { ...DEFAULT_SHARED_BLINK_OPTIONS, ...options };
  }

  /** Adds one reading (`ear` null = no face measured) to the session's series. */
  add(sessionId: string, sample: EarSample): Promise<BlinkTally> {
    return this.locked(sessionId, async () => {
      const counter = new LiveBlinkCounter(this.options, await this.load(sessionId));
      const inFrame = counter.add(sample);
      await this.cache.set(stateKey(sessionId), JSON.stringify(counter.state()), this.options.stateTtlSeconds);
      return { inFrame, session: counter.total };
    });
  }

  /** The session's count so far, without adding a reading. */
  async total(sessionId: string): Promise<number> {
    return (await this.load(sessionId))?.counted ?? 0;
  }

  private async load(sessionId: string): Promise<LiveBlinkState | undefined> {
    const raw = await this.cache.get(stateKey(sessionId));
    if (raw === null) return undefined;
    const state = JSON.parse(raw) as LiveBlinkState;
    return state.v === 1 ? state : undefined;
  }

  private async locked<T>(sessionId: string, task: () => Promise<T>): Promise<T> {
    const key = lockKey(sessionId);
    const deadline = performance.now() + this.options.lockWaitMs;
    for (let attempt = 0; ; attempt++) {
      const { count } = await this.cache.incr(key, this.options.lockLeaseSeconds);
      if (count === 1) {
        try {
          return await task();
        } finally {
          await this.cache.del(key);
        }
      }
      if (performance.now() > deadline) {
        throw new AppError('SERVICE_UNAVAILABLE', `Blink state of session ${sessionId} stayed locked`);
      }
      // Another process is adding a reading of this session: that takes a few milliseconds.
      await new Promise((resolve) => setTimeout(resolve, Math.min(50, 2 + attempt * 2) * (0.5 + Math.random())));
    }
  }
}

import { describe, expect, it } from 'vitest';
import { MemoryCache } from '../../infra/cache/memory-cache.ts';
import { detectBlinks } from './blink-detector.ts';
import { earSeries } from '../testing/ear-series.ts';
import { LiveBlinkCounter } from './live-blink-counter.ts';
import { SharedBlinkCounter } from './shared-blink-counter.ts';

/** Frame times in epoch milliseconds, as the consumer sees them. */
const series = (fps: number, seconds: number, blinksAt: number[]) =>
  earSeries(fps, seconds, blinksAt, 1_750_000_000_000);

/** A deterministic PRNG so a failing case can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const blinksAt = [2.03, 7.51, 13.27, 31.02, 46.66, 52.4];

describe('SharedBlinkCounter', () => {
  it('two processes sharing one session’s frames count its blinks once, as one process seeing every frame does', async () => {
    const cache = new MemoryCache();
    // Two consumer processes, each with its own counter object, over the one cache.
    const processes = [new SharedBlinkCounter(cache), new SharedBlinkCounter(cache)];
    const samples = series(10, 60, blinksAt);
    const rand = rng(7);
    const tallies: { inFrame: number; session: number }[] = [];
    // Frames go to either process at random, four at a time in flight and in shuffled order, as
    // competing deliveries with prefetch have them: their cache reads and writes interleave.
    for (let i = 0; i < samples.length; i += 4) {
      const batch = samples.slice(i, i + 4).sort(() => rand() - 0.5);
      tallies.push(...(await Promise.all(batch.map((s) => processes[rand() < 0.5 ? 0 : 1]!.add('session-a', s)))));
    }
    const single = new LiveBlinkCounter();
    for (const s of samples) single.add(s);
    expect(single.total).toBe(blinksAt.length);
    expect(tallies.reduce((sum, t) => sum + t.inFrame, 0)).toBe(blinksAt.length);
    expect(await processes[0]!.total('session-a')).toBe(blinksAt.length);
    expect(await processes[1]!.total('session-a')).toBe(blinksAt.length);
    expect(detectBlinks(samples).count).toBe(blinksAt.length);
    await cache.close();
  });

  it('keeps sessions apart', async () => {
    const cache = new MemoryCache();
    const counter = new SharedBlinkCounter(cache);
    for (const s of series(10, 10, [2.03, 7.51])) await counter.add('session-a', s);
    for (const s of series(10, 10, [4.2])) await counter.add('session-b', s);
    expect(await counter.total('session-a')).toBe(2);
    expect(await counter.total('session-b')).toBe(1);
    expect(await counter.total('session-c')).toBe(0);
    await cache.close();
  });

  it('credits a frame analysed again (after a crash before its row was written) with the same blink, once', async () => {
    const cache = new MemoryCache();
    const [first, second] = [new SharedBlinkCounter(cache), new SharedBlinkCounter(cache)];
    const samples = series(10, 10, [5.0]);
    const credits = new Map<number, number>();
    for (const s of samples) {
      const { inFrame } = await first.add('session-a', s);
      if (inFrame > 0) credits.set(s.t, inFrame);
    }
    expect([...credits.values()]).toEqual([1]);
    const [reopenedAt] = [...credits.keys()];
    const replay = await second.add(
      'session-a',
      samples.find((s) => s.t === reopenedAt)!,
    );
    expect(replay).toEqual({ inFrame: 1, session: 1 });
    await cache.close();
  });

  it('waits for a lock another process holds, and gives up with a retryable error if it is never released', async () => {
    const cache = new MemoryCache();
    const counter = new SharedBlinkCounter(cache, { lockLeaseSeconds: 30, lockWaitMs: 100 });
    // A process that took the lock and died without releasing it (the lease outlives the wait).
    await cache.incr('emotion:blinks:session-a:lock', 30);
    await expect(counter.add('session-a', { t: 0, ear: 0.4 })).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    await cache.del('emotion:blinks:session-a:lock');
    await expect(counter.add('session-a', { t: 0, ear: 0.4 })).resolves.toEqual({ inFrame: 0, session: 0 });
    await cache.close();
  });
});

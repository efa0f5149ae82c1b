/**
 * At most `limit` events in any window of `windowMs` (a sliding log of the last `limit` accepted
 * times): unlike a fixed window, a burst across a window boundary cannot reach twice the limit.
 */
export class SlidingWindowLimiter {
  private readonly times: number[];
  private next = 0;
  private count = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
    this.times = new Array<number>(limit).fill(0);
  }

  /** Records the event and returns true when it fits, false (nothing recorded) when it does not. */
  tryTake(now: number): boolean {
    if (this.count === this.limit) {
      // `next` holds the oldest of the last `limit` accepted events.
      const oldest = this.times[this.next] ?? 0;
      if (now - oldest < this.windowMs) return false;
    } else {
      this.count++;
    }
    this.times[this.next] = now;
    this.next = (this.next + 1) % this.limit;
    return true;
  }
}

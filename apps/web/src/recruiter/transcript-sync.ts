import type { TTimedWord } from '@parley/contracts';

/**
 * The word being spoken at `ms` into the recording: the last word that has started, while it
 * lasts or until the next begins (a short pause keeps the previous word lit). -1 before the first
 * word and after a gap longer than `holdMs` following a word's end.
 */
export function wordIndexAt(words: readonly TTimedWord[], ms: number, holdMs = 1000): number {
  let lo = 0;
  let hi = words.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (words[mid]!.startMs <= ms) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  if (found === -1) return -1;
  return ms <= words[found]!.endMs + holdMs ? found : -1;
}

/** "1:05.3" for a position in the recording. */
export function formatPosition(ms: number): string {
  const tenths = Math.floor(ms / 100);
  const minutes = Math.floor(tenths / 600);
  const seconds = (tenths % 600) / 10;
  return `${minutes}:${seconds.toFixed(1).padStart(4, '0')}`;
}

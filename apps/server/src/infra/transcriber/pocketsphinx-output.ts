/**
 * Parsing of `pocketsphinx_continuous -time yes` output (Debian 12 ships pocketsphinx
 * 0.8+5prealpha, whose CLI has no JSON output). For each utterance the CLI prints the hypothesis
 * line, then one line per segment: `word start end confidence`, times in seconds of the whole
 * input (start = first frame / 100, end = last frame / 100), confidence = 1.0001^score as the CLI
 * computes it from pocketsphinx's log-domain score (see the callers for what the score is).
 */

export interface PocketsphinxSegment {
  /** The word as printed, alternative-pronunciation marker removed (`process(2)` → `process`). */
  word: string;
  startMs: number;
  /** Exclusive end: the start of the frame after the segment's last frame. */
  endMs: number;
  /** As printed, clamped to 0..1 (log-domain rounding can print 1.0013). */
  confidence: number;
  /** `<s>`, `</s>`, `<sil>`, `[NOISE]`, `++GARBAGE++`: not a spoken word. */
  filler: boolean;
}

/** One frame at pocketsphinx's default `-frate 100`. */
const FRAME_MS = 10;

const SEGMENT_LINE = /^(.+?)\s+(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)$/i;

/**
 * Every segment line, in time order. Hypothesis lines never match: they hold only dictionary
 * words, never three trailing numbers.
 */
export function parseSegments(stdout: string): PocketsphinxSegment[] {
  const segments: PocketsphinxSegment[] = [];
  for (const raw of stdout.split('\n')) {
    const match = SEGMENT_LINE.exec(raw.trim());
    if (!match) continue;
    const word = match[1]!.trim().replace(/\(\d+\)$/, '');
    const startMs = Math.round(Number(match[2]) * 1000);
    const endMs = Math.round(Number(match[3]) * 1000) + FRAME_MS;
    const confidence = Math.min(1, Math.max(0, Number(match[4])));
    if (!Number.isFinite(startMs) || !Number.isFinite(endMs) || Number.isNaN(confidence)) continue;
    segments.push({ word, startMs, endMs, confidence, filler: isFiller(word) });
  }
  return segments.sort((a, b) => a.startMs - b.startMs);
}

function isFiller(word: string): boolean {
  return /^(<.*>|\[.*\]|\+\+.*\+\+)$/.test(word);
}

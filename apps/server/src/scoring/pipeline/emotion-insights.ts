import type { EmotionFrameRow } from '../scoring.repository.ts';
import { round2 } from './session-score.ts';

export const EMOTION_SCORE_VERSION = 'emotion-score/v1';

/** Fewer analysed frames than this say too little about a session to score it. */
export const MIN_FRAMES_FOR_SCORE = 10;
// Resting adults blink about 8–30 times a minute; outside that band credit falls off linearly.
const BLINKS_LOW = 8;
const BLINKS_HIGH = 30;
const TIMELINE_BUCKETS = 60;

export interface EmotionInsights {
  frames: number;
  durationMs: number;
  /** Shares of all analysed frames, 0–1. */
  facePresent: number;
  severalFaces: number;
  /** Share of frames with a face in which the candidate looked away from the screen. */
  lookingAway: number;
  /** Share of face frames on which the dominant expression is the same as on the frame before. */
  expressionStability: number;
  blinksPerMinute: number;
  /** Share of face frames per dominant expression. */
  expressions: Record<string, number>;
  /** Evenly spaced buckets over the session for the report's chart. */
  timeline: { atMs: number; blinks: number; facePresent: number; dominant: string | null }[];
  /** Stretches with no face, several faces or the gaze away: shown apart from the score. */
  integrityEvents: {
    kind: 'no_face' | 'several_faces' | 'looking_away';
    startMs: number;
    endMs: number;
    frames: number;
  }[];
}

interface FrameMeta {
  faceCount?: unknown;
  face?: { gaze?: { away?: unknown } } | null;
}

/** Aggregates the emotion service's per-frame rows of one session. Null without frames. */
export function emotionInsights(rows: readonly EmotionFrameRow[]): EmotionInsights | null {
  if (rows.length === 0) return null;
  const t0 = rows[0]!.frameTs.getTime();
  const durationMs = Math.max(0, rows[rows.length - 1]!.frameTs.getTime() - t0);
  const faces = rows.filter((r) => r.faceDetected);
  const faceCount = (r: EmotionFrameRow) => {
    const n = (r.metadata as FrameMeta).faceCount;
    return typeof n === 'number' ? n : r.faceDetected ? 1 : 0;
  };
  const away = (r: EmotionFrameRow) => (r.metadata as FrameMeta).face?.gaze?.away === true;
  let same = 0;
  for (let i = 1; i < faces.length; i++) if (faces[i]!.emotion === faces[i - 1]!.emotion) same++;
  const blinks = rows.reduce((s, r) => s + r.blinkCount, 0);
  const expressions: Record<string, number> = {};
  for (const f of faces) if (f.emotion) expressions[f.emotion] = (expressions[f.emotion] ?? 0) + 1;
  for (const k of Object.keys(expressions)) expressions[k] = round2(expressions[k]! / Math.max(1, faces.length));

  const bucketMs = Math.max(1000, Math.ceil(durationMs / TIMELINE_BUCKETS));
  const buckets = new Map<number, EmotionFrameRow[]>();
  for (const r of rows) {
    const b = Math.floor((r.frameTs.getTime() - t0) / bucketMs);
    buckets.set(b, [...(buckets.get(b) ?? []), r]);
  }
  const timeline = [...buckets.entries()]
    .sort(([a], [b]) => a - b)
    .map(([b, rs]) => {
      const counts = new Map<string, number>();
      for (const r of rs) if (r.emotion) counts.set(r.emotion, (counts.get(r.emotion) ?? 0) + 1);
      const dominant = [...counts.entries()].sort((x, y) => y[1] - x[1])[0]?.[0] ?? null;
      return {
        atMs: b * bucketMs,
        blinks: rs.reduce((s, r) => s + r.blinkCount, 0),
        facePresent: round2(rs.filter((r) => r.faceDetected).length / rs.length),
        dominant,
      };
    });

  return {
    frames: rows.length,
    durationMs,
    facePresent: round2(faces.length / rows.length),
    severalFaces: round2(rows.filter((r) => faceCount(r) > 1).length / rows.length),
    lookingAway: round2(faces.filter(away).length / Math.max(1, faces.length)),
    expressionStability: faces.length > 1 ? round2(same / (faces.length - 1)) : 1,
    blinksPerMinute: durationMs > 0 ? round2(blinks / (durationMs / 60_000)) : 0,
    expressions,
    timeline,
    integrityEvents: [
      ...runs(rows, t0, (r) => !r.faceDetected, 'no_face'),
      ...runs(rows, t0, (r) => faceCount(r) > 1, 'several_faces'),
      ...runs(rows, t0, away, 'looking_away'),
    ].sort((a, b) => a.startMs - b.startMs),
  };
}

/**
 * Emotion score, 0–5 = 5 × the mean of five shares:
 * face present; one person only (1 − several faces); attention (1 − looking away);
 * expression stability; blink rate within 8–30/min (below: rate/8, above: 1 − (rate − 30)/30, ≥ 0).
 * Undefined with fewer than `MIN_FRAMES_FOR_SCORE` frames.
 */
export function emotionScore(i: EmotionInsights | null): number | undefined {
  if (!i || i.frames < MIN_FRAMES_FOR_SCORE) return undefined;
  const r = i.blinksPerMinute;
  const blink =
    r < BLINKS_LOW ? r / BLINKS_LOW : r > BLINKS_HIGH ? Math.max(0, 1 - (r - BLINKS_HIGH) / BLINKS_HIGH) : 1;
  const parts = [i.facePresent, 1 - i.severalFaces, 1 - i.lookingAway, i.expressionStability, blink];
  return round2((5 * parts.reduce((a, b) => a + b, 0)) / parts.length);
}

/** Consecutive frames (at least two) for which `test` holds, as intervals from the first frame. */
function runs<K extends EmotionInsights['integrityEvents'][number]['kind']>(
  rows: readonly EmotionFrameRow[],
  t0: number,
  test: (r: EmotionFrameRow) => boolean,
  kind: K,
): EmotionInsights['integrityEvents'] {
  const out: EmotionInsights['integrityEvents'] = [];
  let start = -1;
  for (let i = 0; i <= rows.length; i++) {
    const on = i < rows.length && test(rows[i]!);
    if (on && start < 0) start = i;
    if (!on && start >= 0) {
      if (i - start >= 2) {
        out.push({
          kind,
          startMs: rows[start]!.frameTs.getTime() - t0,
          endMs: rows[i - 1]!.frameTs.getTime() - t0,
          frames: i - start,
        });
      }
      start = -1;
    }
  }
  return out;
}

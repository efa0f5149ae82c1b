import type { Expression, FrameAnalysis } from '../emotion.types.ts';
import { EXPRESSIONS } from '../pipeline/expression-classifier.ts';
import { detectBlinks, type BlinkOptions, type BlinkReport } from './blink-detector.ts';

/** What the session keeps of each frame: small enough to hold a whole interview in memory. */
export interface FrameRecord {
  t: number;
  ok: boolean;
  faceCount: number;
  /** Mean EAR of the main face, null without a face. */
  ear: number | null;
  expression: Expression | null;
  probabilities: number[] | null;
  gazeAway: boolean | null;
}

export function toFrameRecord(frame: FrameAnalysis): FrameRecord {
  if (!frame.ok)
    return {
      t: frame.timestampMs,
      ok: false,
      faceCount: 0,
      ear: null,
      expression: null,
      probabilities: null,
      gazeAway: null,
    };
  const face = frame.faces[0];
  return {
    t: frame.timestampMs,
    ok: true,
    faceCount: frame.faceCount,
    ear: face && !frame.wholeImageAsFace ? face.eyes.meanEar : null,
    expression: face ? face.expression.label : null,
    probabilities: face ? EXPRESSIONS.map((e) => face.expression.probabilities[e]) : null,
    gazeAway: face ? face.gaze.away : null,
  };
}

export interface Interval {
  startMs: number;
  endMs: number;
}

export interface IntervalReport {
  intervals: Interval[];
  totalMs: number;
}

export interface ExpressionSegment extends Interval {
  label: Expression;
}

export interface SessionSummary {
  frames: number;
  errorFrames: number;
  startMs: number | null;
  endMs: number | null;
  durationMs: number;
  blinks: BlinkReport;
  expressions: {
    /** Label with the highest mean probability over frames with a face. */
    dominant: Expression | null;
    /** Mean probability of each class over frames with a face. */
    mean: Record<Expression, number> | null;
    /** Consecutive runs of the smoothed label. */
    timeline: ExpressionSegment[];
    /** 1 − (raw label changes / frame pairs): 1 = the label never flickers. */
    stability: number | null;
    /** Changes of the smoothed label per minute. */
    changesPerMinute: number | null;
  };
  noFace: IntervalReport;
  multipleFaces: IntervalReport;
  lookingAway: IntervalReport;
}

export interface SummaryOptions {
  blink: Partial<BlinkOptions>;
  /** Window of the majority filter that smooths the expression timeline, ms. */
  smoothingMs: number;
}

export const DEFAULT_SUMMARY_OPTIONS: SummaryOptions = { blink: {}, smoothingMs: 1_000 };

/** Frame spans: each frame stands for the time until the next one (the last: the median step). */
function frameEnds(records: FrameRecord[]): number[] {
  const steps = records
    .slice(1)
    .map((r, i) => r.t - (records[i] as FrameRecord).t)
    .sort((a, b) => a - b);
  const step = steps.length ? (steps[Math.floor(steps.length / 2)] as number) : 0;
  return records.map((r, i) => (i + 1 < records.length ? (records[i + 1] as FrameRecord).t : r.t + step));
}

/** Maximal runs of frames for which `pred` holds, as time intervals. Pure. */
export function intervalsWhere(records: FrameRecord[], pred: (r: FrameRecord) => boolean): IntervalReport {
  const ends = frameEnds(records);
  const intervals: Interval[] = [];
  let open: Interval | null = null;
  records.forEach((r, i) => {
    if (pred(r)) {
      if (open) open.endMs = ends[i] as number;
      else open = { startMs: r.t, endMs: ends[i] as number };
    } else if (open) {
      intervals.push(open);
      open = null;
    }
  });
  if (open) intervals.push(open);
  return { intervals, totalMs: intervals.reduce((s, iv) => s + iv.endMs - iv.startMs, 0) };
}

function smoothLabels(records: FrameRecord[], windowMs: number): (Expression | null)[] {
  const half = windowMs / 2;
  const votes = new Map<Expression, number>();
  let lo = 0;
  let hi = 0;
  // Sliding window over sorted timestamps: linear in the number of frames.
  return records.map((r) => {
    while (hi < records.length && (records[hi] as FrameRecord).t <= r.t + half) {
      const e = (records[hi] as FrameRecord).expression;
      if (e) votes.set(e, (votes.get(e) ?? 0) + 1);
      hi++;
    }
    while ((records[lo] as FrameRecord).t < r.t - half) {
      const e = (records[lo] as FrameRecord).expression;
      if (e) votes.set(e, (votes.get(e) ?? 0) - 1);
      lo++;
    }
    if (!r.expression) return null;
    let best: Expression = r.expression;
    for (const [k, v] of votes) if (v > (votes.get(best) ?? 0)) best = k;
    return best;
  });
}

/** Everything a session's frames say over time. Pure: same frames, same summary. */
export function summarizeSession(input: FrameRecord[], options: Partial<SummaryOptions> = {}): SessionSummary {
  const opts = { ...DEFAULT_SUMMARY_OPTIONS, ...options };
  const records = [...input].sort((a, b) => a.t - b.t);
  const ok = records.filter((r) => r.ok);
  const withFace = ok.filter((r) => r.probabilities);
  const blinks = detectBlinks(
    ok.map((r) => ({ t: r.t, ear: r.ear })),
    opts.blink,
  );

  let mean: Record<Expression, number> | null = null;
  let dominant: Expression | null = null;
  if (withFace.length) {
    const sums = EXPRESSIONS.map(
      (_, i) => withFace.reduce((s, r) => s + ((r.probabilities as number[])[i] as number), 0) / withFace.length,
    );
    mean = Object.fromEntries(EXPRESSIONS.map((e, i) => [e, sums[i] as number])) as Record<Expression, number>;
    dominant = EXPRESSIONS[sums.indexOf(Math.max(...sums))] as Expression;
  }
  const labelled = ok.filter((r) => r.expression);
  let rawChanges = 0;
  for (let i = 1; i < labelled.length; i++)
    if ((labelled[i] as FrameRecord).expression !== (labelled[i - 1] as FrameRecord).expression) rawChanges++;
  const smoothed = smoothLabels(ok, opts.smoothingMs);
  const ends = frameEnds(ok);
  const timeline: ExpressionSegment[] = [];
  ok.forEach((r, i) => {
    const label = smoothed[i];
    const last = timeline[timeline.length - 1];
    if (!label) return;
    if (last && last.label === label && last.endMs >= r.t) last.endMs = ends[i] as number;
    else timeline.push({ label, startMs: r.t, endMs: ends[i] as number });
  });
  const faceMs = intervalsWhere(ok, (r) => r.faceCount > 0).totalMs;

  const startMs = records[0]?.t ?? null;
  const endMs = records.length ? (frameEnds(records)[records.length - 1] as number) : null;
  return {
    frames: records.length,
    errorFrames: records.length - ok.length,
    startMs,
    endMs,
    durationMs: startMs !== null && endMs !== null ? endMs - startMs : 0,
    blinks,
    expressions: {
      dominant,
      mean,
      timeline,
      stability: labelled.length > 1 ? 1 - rawChanges / (labelled.length - 1) : null,
      changesPerMinute: faceMs > 0 ? (Math.max(0, timeline.length - 1) * 60_000) / faceMs : null,
    },
    noFace: intervalsWhere(ok, (r) => r.faceCount === 0),
    multipleFaces: intervalsWhere(ok, (r) => r.faceCount > 1),
    lookingAway: intervalsWhere(ok, (r) => r.gazeAway === true),
  };
}

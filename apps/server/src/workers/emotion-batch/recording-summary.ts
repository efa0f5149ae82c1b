import { EXPRESSIONS, type Expression, type FrameRecord, type SessionSummary } from '../../emotion/index.ts';

/**
 * What one recording's batch analysis comes to, in the figures an operator or a recruiter reads:
 * stored on the run and printed by `parley analyze`.
 */
export interface RecordingSummary {
  frames: number;
  errorFrames: number;
  durationMs: number;
  faces: {
    /** Frames with at least one face. */
    framesWithFace: number;
    /** Share of decodable frames with at least one face, 0..1. */
    share: number;
    /** Largest number of faces in one frame. */
    maxInFrame: number;
    noFaceMs: number;
    multipleFacesMs: number;
  };
  blinks: { count: number; perMinute: number | null; baselineEar: number | null };
  expressions: {
    dominant: Expression | null;
    /** Share of frames with a face whose label is each class, 0..1 (sums to 1). */
    shares: Record<Expression, number> | null;
    stability: number | null;
  };
  lookingAwayMs: number;
}

const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;

export function summarizeRecording(summary: SessionSummary, records: readonly FrameRecord[]): RecordingSummary {
  const ok = records.filter((r) => r.ok);
  const withFace = ok.filter((r) => r.faceCount > 0);
  const labelled = ok.filter((r) => r.expression);
  let shares: Record<Expression, number> | null = null;
  if (labelled.length) {
    shares = Object.fromEntries(
      EXPRESSIONS.map((e) => [e, round(labelled.filter((r) => r.expression === e).length / labelled.length)]),
    ) as Record<Expression, number>;
  }
  return {
    frames: summary.frames,
    errorFrames: summary.errorFrames,
    durationMs: Math.round(summary.durationMs),
    faces: {
      framesWithFace: withFace.length,
      share: ok.length ? round(withFace.length / ok.length) : 0,
      maxInFrame: ok.reduce((m, r) => Math.max(m, r.faceCount), 0),
      noFaceMs: Math.round(summary.noFace.totalMs),
      multipleFacesMs: Math.round(summary.multipleFaces.totalMs),
    },
    blinks: {
      count: summary.blinks.count,
      perMinute: summary.blinks.perMinute === null ? null : round(summary.blinks.perMinute, 2),
      baselineEar: summary.blinks.baselineEar === null ? null : round(summary.blinks.baselineEar),
    },
    expressions: {
      dominant: summary.expressions.dominant,
      shares,
      stability: summary.expressions.stability === null ? null : round(summary.expressions.stability),
    },
    lookingAwayMs: Math.round(summary.lookingAway.totalMs),
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The summary as an aligned two-column table, one figure per line. */
export function formatRecordingSummary(s: RecordingSummary, title?: string): string {
  const lines: [string, string][] = [
    ['frames analysed', `${s.frames}${s.errorFrames ? ` (${s.errorFrames} undecodable)` : ''}`],
    ['duration', secs(s.durationMs)],
    ['faces: frames with a face', `${s.faces.framesWithFace} (${pct(s.faces.share)})`],
    ['faces: most in one frame', String(s.faces.maxInFrame)],
    ['faces: no face', secs(s.faces.noFaceMs)],
    ['faces: several faces', secs(s.faces.multipleFacesMs)],
    ['blinks', String(s.blinks.count)],
    ['blinks per minute', s.blinks.perMinute === null ? 'n/a (no eye readings)' : s.blinks.perMinute.toFixed(1)],
    ['looking away', secs(s.lookingAwayMs)],
    ['dominant expression', s.expressions.dominant ?? 'n/a'],
  ];
  if (s.expressions.shares) {
    const sorted = EXPRESSIONS.map((e) => [e, s.expressions.shares![e]] as const).sort((a, b) => b[1] - a[1]);
    for (const [e, share] of sorted) lines.push([`expression: ${e}`, pct(share)]);
  }
  const width = Math.max(...lines.map(([k]) => k.length));
  const body = lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
  return title ? `${title}\n${'-'.repeat(Math.max(title.length, width + 10))}\n${body}` : body;
}

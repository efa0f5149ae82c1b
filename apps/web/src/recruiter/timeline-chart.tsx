import { useId } from 'react';

export interface TimelinePoint {
  atMs: number;
  /** Share of frames with a face, 0–1. */
  facePresent: number;
  /** Blinks so far (cumulative) or in the bucket, as the source gives them. */
  blinks: number;
  dominant: string | null;
}

const W = 640;
const H = 180;
const PAD = 28;

/** Face presence and blinks over time, with the same data as a table for screen readers. */
export function TimelineChart({
  points,
  title,
  blinksLabel,
}: {
  points: TimelinePoint[];
  title: string;
  blinksLabel: string;
}) {
  const id = useId();
  if (points.length === 0) return <p className="muted">No video analysis data yet.</p>;
  const end = Math.max(1, points.at(-1)!.atMs);
  const maxBlinks = Math.max(1, ...points.map((p) => p.blinks));
  const x = (ms: number) => PAD + ((W - 2 * PAD) * ms) / end;
  const y = (v: number) => H - PAD - (H - 2 * PAD) * v;
  const line = (f: (p: TimelinePoint) => number) =>
    points.map((p) => `${x(p.atMs).toFixed(1)},${y(f(p)).toFixed(1)}`).join(' ');
  return (
    <figure style={{ margin: '0.5rem 0' }}>
      <svg className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={`${id}-t ${id}-d`}>
        <title id={`${id}-t`}>{title}</title>
        <desc id={`${id}-d`}>
          Face presence (solid) and {blinksLabel} (dashed) over {Math.round(end / 1000)} seconds.
        </desc>
        <line x1={PAD} y1={H - PAD} x2={W - PAD} y2={H - PAD} stroke="#4a5260" />
        <line x1={PAD} y1={PAD} x2={PAD} y2={H - PAD} stroke="#4a5260" />
        <text x={PAD} y={H - 8} fontSize="12" fill="#1b1f24">
          0 s
        </text>
        <text x={W - PAD} y={H - 8} fontSize="12" textAnchor="end" fill="#1b1f24">
          {Math.round(end / 1000)} s
        </text>
        <text x={4} y={PAD} fontSize="12" fill="#1b1f24">
          100%
        </text>
        <polyline points={line((p) => p.facePresent)} fill="none" stroke="#1d4ed8" strokeWidth="2.5" />
        <polyline
          points={line((p) => p.blinks / maxBlinks)}
          fill="none"
          stroke="#b42318"
          strokeWidth="2"
          strokeDasharray="6 4"
        />
      </svg>
      <figcaption className="muted">
        <span style={{ color: '#1d4ed8' }}>━</span> face present &nbsp; <span style={{ color: '#b42318' }}>┅</span>{' '}
        {blinksLabel} (max {maxBlinks})
      </figcaption>
      <details>
        <summary>Timeline as a table</summary>
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Time (s)</th>
                <th scope="col">Face present</th>
                <th scope="col">{blinksLabel}</th>
                <th scope="col">Dominant expression</th>
              </tr>
            </thead>
            <tbody>
              {points.slice(-120).map((p, i) => (
                <tr key={i}>
                  <td>{(p.atMs / 1000).toFixed(1)}</td>
                  <td>{Math.round(p.facePresent * 100)}%</td>
                  <td>{p.blinks}</td>
                  <td>{p.dominant ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}

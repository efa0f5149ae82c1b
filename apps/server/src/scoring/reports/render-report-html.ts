import type { TSessionReport } from '@parley/contracts';

const esc = (s: string | number | null | undefined): string =>
  String(s ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

const fmt = (n: number | null | undefined): string => (n === null || n === undefined ? '—' : n.toFixed(2));
const pct = (n: number): string => `${Math.round(n * 100)} %`;
const mmss = (ms: number): string => {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

/**
 * The recruiter report as one self-contained HTML page (inline CSS and SVG, no scripts, no
 * external requests), laid out for A4 so the worker can print it to PDF with headless Chromium.
 * Every value from the data is escaped.
 */
export function renderReportHtml(report: TSessionReport): string {
  const overridden = report.effectiveOverall !== report.overall;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Interview report — ${esc(report.candidate.name)} — ${esc(report.interviewTitle)}</title>
<style>
  @page { size: A4; margin: 16mm; }
  body { font: 11pt/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1f24; max-width: 190mm; margin: 0 auto; }
  h1 { font-size: 18pt; margin: 0 0 2mm; } h2 { font-size: 13pt; margin: 8mm 0 2mm; border-bottom: 1px solid #ccd; padding-bottom: 1mm; }
  h3 { font-size: 11.5pt; margin: 5mm 0 1mm; }
  .muted { color: #5b6470; } .small { font-size: 9pt; }
  .score { font-size: 26pt; font-weight: 700; } .pill { display: inline-block; padding: 0 2mm; border-radius: 2mm; background: #eef; font-size: 9pt; }
  .warn { background: #fff4d6; } .override { background: #e8f4ff; }
  table { border-collapse: collapse; width: 100%; margin: 1mm 0 3mm; } th, td { text-align: left; vertical-align: top; padding: 1mm 2mm; border-bottom: 1px solid #e4e6ea; }
  th { font-size: 9pt; color: #5b6470; font-weight: 600; }
  blockquote { margin: 1mm 0; padding-left: 3mm; border-left: 2px solid #99a; color: #333; font-style: italic; }
  .grid { display: flex; gap: 8mm; } .grid > div { flex: 1; } .grid > .lead { flex: 0 0 38mm; }
  h2, h3 { break-after: avoid; } tr, blockquote, svg { break-inside: avoid; }
  svg text { font: 8pt system-ui, sans-serif; fill: #5b6470; }
</style>
</head>
<body>
<header>
  <h1>${esc(report.interviewTitle)}</h1>
  <div class="muted">${esc(report.candidate.name)} · ${esc(report.candidate.email)} · session ${esc(report.sessionId)}</div>
  <div class="muted small">Completed ${esc(report.completedAt ?? '—')} · scored ${esc(report.scoredAt ?? '—')} · status ${esc(report.status)}</div>
</header>

<h2>Overall</h2>
<div class="grid">
  <div class="lead"><div class="score">${fmt(report.effectiveOverall)}<span class="muted small"> / 5</span></div>
  ${overridden ? `<div class="pill override">with overrides · originally ${fmt(report.overall)}</div>` : ''}</div>
  <div>${finalTable(report)}</div>
</div>
<div class="grid">
  <div><h3>Strengths</h3>${list(report.strengths)}</div>
  <div><h3>Areas to probe</h3>${list(report.gaps)}</div>
</div>

<h2>Questions</h2>
${report.questions.map(renderQuestion).join('\n')}

${renderEmotion(report)}

<h2>Appendix: how these scores were made</h2>
<table>
  <tr><th>Provider</th><th>Model</th><th>Prompt / scorer version</th></tr>
  ${report.provenance.map((p) => `<tr><td>${esc(p.provider)}</td><td>${esc(p.model)}</td><td>${esc(p.promptVersion)}</td></tr>`).join('') || '<tr><td colspan="3" class="muted">Not scored yet.</td></tr>'}
</table>
<table class="small">
  ${Object.entries(report.formulas)
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`)
    .join('')}
</table>
<p class="muted small">Emotion policy: ${esc(report.emotionPolicy)}. Scores assist a human decision; they are not one.</p>
</body>
</html>
`;
}

/** Technical, communication, emotion and overall with the weight each carried; absent parts say so. */
function finalTable(report: TSessionReport): string {
  const f = report.final;
  if (!f) return '<p class="muted">Not scored yet.</p>';
  const total = f.weights.technical + f.weights.communication + f.weights.emotion;
  const row = (label: string, v: number | undefined, w: number, note = '') =>
    `<tr><td>${label}</td><td>${v === undefined ? '<span class="muted">absent</span>' : fmt(v)}</td><td>${v === undefined || total === 0 ? '—' : pct(w / total)}</td><td class="muted small">${note}</td></tr>`;
  const c = f.components;
  const commNote = [
    c.communicationCriteria === undefined ? '' : `communication criteria ${fmt(c.communicationCriteria)}`,
    c.delivery === undefined ? '' : `delivery ${fmt(c.delivery)}`,
  ]
    .filter(Boolean)
    .join(' · ');
  return `<table>
    <tr><th>Final score</th><th>Score</th><th>Share of overall</th><th>Made of</th></tr>
    ${row('Technical', f.technical, f.weights.technical, `technical criteria: ${pct(c.technicalShare)} of the rubrics`)}
    ${row('Communication', f.communication, f.weights.communication, esc(commNote))}
    ${row('Emotion', f.emotion, f.weights.emotion, report.emotionPolicy === 'scored' ? '' : `not scored (policy ${esc(report.emotionPolicy)})`)}
    <tr><td><b>Overall</b></td><td><b>${fmt(f.overall)}</b></td><td></td><td></td></tr>
  </table>`;
}

function list(items: string[]): string {
  return items.length ? `<ul>${items.map((s) => `<li>${esc(s)}</li>`).join('')}</ul>` : '<p class="muted">—</p>';
}

function renderQuestion(q: TSessionReport['questions'][number]): string {
  const status = q.status === 'scored' ? '' : `<span class="pill warn">${esc(q.status.replace('_', ' '))}</span> `;
  return `<section class="question">
<h3>${q.position + 1}. ${esc(q.question)}</h3>
<div>${status}Score <b>${fmt(q.effectiveScore)}</b>${q.effectiveScore !== q.score ? ` <span class="pill override">originally ${fmt(q.score)}</span>` : ''}
${q.note ? `<span class="muted"> — ${esc(q.note)}</span>` : ''}</div>
${q.transcript ? `<details open><summary class="small muted">Transcript (${esc(q.transcriptSource ?? 'unknown')})</summary><p class="small">${esc(q.transcript)}</p></details>` : ''}
${
  q.criteria.length
    ? `<table><tr><th>Criterion</th><th>Score</th><th>Evidence and rationale</th></tr>${q.criteria
        .map(
          (
            c,
          ) => `<tr${c.override ? ' class="override"' : ''}><td>${esc(c.name)}<div class="muted small">${esc(c.area)} · weight ${esc(c.weight)}</div></td>
<td>${fmt(c.effectiveScore)}${c.override ? `<div class="small">was ${fmt(c.score)}</div>` : ''}</td>
<td>${c.evidence.map((e) => `<blockquote>“${esc(e)}”</blockquote>`).join('')}<div class="small">${esc(c.rationale)}</div>
${c.override ? `<div class="small"><b>Override:</b> ${esc(c.override.reason)} <span class="muted">(${esc(c.override.at)})</span></div>` : ''}</td></tr>`,
        )
        .join('')}</table>`
    : ''
}
${q.followUpQuestion ? `<div class="small"><b>Follow-up:</b> ${esc(q.followUpQuestion)}</div>` : ''}
${q.provenance ? `<div class="muted small">${esc(q.provenance.provider)} · ${esc(q.provenance.model)} · ${esc(q.provenance.promptVersion)} · rubric ${esc(q.provenance.rubricVersion)}</div>` : ''}
</section>`;
}

function renderEmotion(report: TSessionReport): string {
  const e = report.emotion;
  if (!e) {
    return `<h2>Video insights</h2><p class="muted">No video analysis (policy ${esc(report.emotionPolicy)}, or the candidate did not consent).</p>`;
  }
  return `<h2>Video insights ${e.countsTowardScore ? '<span class="pill">counted in the score</span>' : '<span class="pill">not part of the score</span>'}</h2>
<table>
  <tr><th>Frames</th><th>Face present</th><th>Several faces</th><th>Looking away</th><th>Expression stability</th><th>Blinks / min</th></tr>
  <tr><td>${e.frames}</td><td>${pct(e.facePresent)}</td><td>${pct(e.severalFaces)}</td><td>${pct(e.lookingAway)}</td><td>${pct(e.expressionStability)}</td><td>${fmt(e.blinksPerMinute)}</td></tr>
</table>
<h3>Blinks and face presence over time</h3>
${timelineSvg(e)}
<div class="small muted">Expressions: ${
    Object.entries(e.expressions)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${esc(k)} ${pct(v)}`)
      .join(' · ') || '—'
  }</div>
<h3>Integrity events (shown apart from the score)</h3>
${
  e.integrityEvents.length
    ? `<table><tr><th>Event</th><th>From</th><th>To</th><th>Frames</th></tr>${e.integrityEvents
        .map(
          (i) =>
            `<tr><td>${esc(i.kind.replace('_', ' '))}</td><td>${mmss(i.startMs)}</td><td>${mmss(i.endMs)}</td><td>${i.frames}</td></tr>`,
        )
        .join('')}</table>`
    : '<p class="muted">None.</p>'
}`;
}

/** Blinks per bucket as bars, face presence as a line, over the session. */
function timelineSvg(e: NonNullable<TSessionReport['emotion']>): string {
  const W = 640;
  const H = 140;
  const pad = { l: 30, r: 48, t: 10, b: 22 };
  const n = e.timeline.length;
  if (n === 0) return '';
  const span = Math.max(1, e.timeline[n - 1]!.atMs);
  const barW = Math.max(2, (W - pad.l - pad.r) / Math.max(n, 1) - 2);
  // Bars stay inside the plot: the last bucket starts `barW` before its right edge.
  const x = (ms: number) => pad.l + ((W - pad.l - pad.r - barW) * ms) / span;
  const maxBlinks = Math.max(1, ...e.timeline.map((b) => b.blinks));
  const y = (v: number) => pad.t + (H - pad.t - pad.b) * (1 - v);
  // The tallest bar reaches 80 % of the height, so the face-present line at 100 % stays visible above it.
  const BAR_TOP = 0.8;
  const bars = e.timeline
    .map((b) => {
      const top = y((BAR_TOP * b.blinks) / maxBlinks);
      return `<rect x="${x(b.atMs).toFixed(1)}" y="${top.toFixed(1)}" width="${barW.toFixed(1)}" height="${(y(0) - top).toFixed(1)}" fill="#9db4e0"/>`;
    })
    .join('');
  const line = e.timeline.map((b) => `${(x(b.atMs) + barW / 2).toFixed(1)},${y(b.facePresent).toFixed(1)}`).join(' ');
  return `<svg role="img" aria-label="Blinks and face presence over time" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">
<line x1="${pad.l}" y1="${y(0)}" x2="${W - pad.r}" y2="${y(0)}" stroke="#ccd"/>
${bars}
<polyline points="${line}" fill="none" stroke="#2f6f3e" stroke-width="1.5"/>
<text x="${pad.l}" y="${H - 6}">0:00</text><text x="${W - pad.r}" y="${H - 6}" text-anchor="end">${mmss(span)}</text>
<text x="${pad.l - 4}" y="${y(BAR_TOP) + 3}" text-anchor="end">${maxBlinks}</text><text x="${pad.l - 4}" y="${y(0) + 3}" text-anchor="end">0</text>
<text x="${W - pad.r + 4}" y="${y(1) + 3}">100 %</text><text x="${W - pad.r + 4}" y="${y(0) + 3}">0 %</text>
<text x="${W / 2}" y="${H - 6}" text-anchor="middle">bars: blinks · line: face present</text>
</svg>`;
}

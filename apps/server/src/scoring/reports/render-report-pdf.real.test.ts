import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ZSessionReport, type TSessionReport } from '@parley/contracts';
import sharp from 'sharp';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { emotionAnalysis, reports } from '../../infra/db/schema.ts';
import { createLogger } from '../../infra/log.ts';
// eslint-disable-next-line no-restricted-imports -- the interviews context's rubric factory
import { rubric } from '../../interviews/testing.ts';
import { createScoringApp, type ScoringApp } from '../testing/scoring-app.ts';
import { completedSession, createScoringHarness, type ScoringHarness } from '../testing/scoring-harness.ts';
import { renderReportHtml } from './render-report-html.ts';
import { renderReportPdf } from './render-report-pdf.ts';
import { renderReportJob, runJobs, type JobDefinition } from '../../workers/index.ts';

// Needs Debian Chromium (/usr/bin/chromium) and poppler-utils, installed by scripts/test-all.sh.
const run = promisify(execFile);
const CHART_TITLE = 'Blinks and face presence over time';

const THREADS = rubric({
  criteria: [
    {
      key: 'accuracy',
      name: 'Technical accuracy',
      weight: 2,
      anchors: {
        '1': 'Vague or wrong about processes and threads.',
        '3': 'Says threads live inside a process.',
        '5': 'Explains separate address spaces, shared memory and the need for synchronization.',
      },
    },
    {
      key: 'clarity',
      name: 'Clarity',
      weight: 1,
      anchors: { '1': 'Rambling.', '3': 'Understandable.', '5': 'Clear and concise.' },
    },
  ],
  idealAnswer: 'Processes have separate memory; threads share the memory of their process and need locks.',
  keyConcepts: ['shared memory', 'locks'],
});

let h: ScoringHarness;
let t: ScoringApp;
let dir: string;
let sessionId: string;
let orgId: string;
let prints = 0;
let runner: { stop(): Promise<void> };

beforeAll(async () => {
  h = await createScoringHarness();
  // The real renderer, counted, so the test can tell a stored PDF from a fresh print.
  t = await createScoringApp(h, {
    renderPdf: async (html) => {
      prints++;
      return renderReportPdf(html);
    },
  });
  // The workers' report job on the harness's broker, printing through the scoring module's reports.
  runner = await runJobs({
    broker: h.broker,
    logger: createLogger({ level: 'silent' }),
    jobs: [renderReportJob({ reports: t.scoring.reports, broker: h.broker }) as JobDefinition<never>],
  });
  dir = await mkdtemp(path.join(tmpdir(), 'parley-pdf-'));
  const { recruiter } = await h.org('Acme');
  orgId = recruiter.orgId;
  t.tokens.set('recruiter', recruiter);
  const session = await completedSession(h, recruiter, {
    questions: [
      {
        text: 'What is the difference between a process and a thread?',
        rubric: THREADS,
        answer:
          'A process has its own address space. Threads run inside a process and share its memory, so they must synchronize with locks to avoid race conditions.',
      },
      { text: 'How would you find a memory leak?', rubric: THREADS },
    ],
    emotionPolicy: 'scored',
    weights: { answers: 3, emotion: 1, behavioral: 0 },
    complete: false,
  });
  sessionId = session.sessionId;
  const t0 = Date.parse('2026-12-01T09:00:00Z');
  await h.database.primary.insert(emotionAnalysis).values(
    Array.from({ length: 120 }, (_, i) => ({
      orgId,
      sessionId,
      frameSeq: i,
      frameTs: new Date(t0 + i * 1000),
      faceDetected: !(i >= 50 && i < 56),
      emotion: i >= 50 && i < 56 ? null : i % 30 < 20 ? 'neutral' : 'happy',
      blinkCount: i % 4 === 0 ? 1 : 0,
      metadata: {
        faceCount: i >= 50 && i < 56 ? 0 : i >= 90 && i < 93 ? 2 : 1,
        face: { gaze: { away: i >= 70 && i < 75 } },
      },
    })),
  );
  await h.module.sessions.complete(session.candidate, sessionId);
  await h.scored(sessionId);
});
afterAll(async () => {
  await runner?.stop();
  await t?.close();
  await h?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function report(): Promise<TSessionReport> {
  return ZSessionReport.parse((await t.call('GET', `/api/sessions/${sessionId}/report`, 'recruiter')).json());
}

async function rows() {
  const found = await h.database.primary.select().from(reports).where(eq(reports.sessionId, sessionId));
  return { html: found.find((r) => r.kind === 'html'), pdf: found.find((r) => r.kind === 'pdf') };
}

async function pdfText(pdf: Buffer, name: string): Promise<string> {
  const file = path.join(dir, `${name}.pdf`);
  await writeFile(file, pdf);
  return (await run('pdftotext', ['-layout', file, '-'])).stdout;
}

describe('the recruiter report as PDF (Debian Chromium)', () => {
  it('renderReportPdf prints a scored session: page 1 is a real page with the score, the PDF shows the chart', async () => {
    const r = await report();
    expect(r.final?.emotion).toEqual(expect.any(Number));
    const pdf = await renderReportPdf(renderReportHtml(r));
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');

    const file = path.join(dir, 'direct.pdf');
    await writeFile(file, pdf);
    await run('pdftoppm', ['-png', '-r', '80', '-f', '1', '-l', '1', '-singlefile', file, path.join(dir, 'page1')]);
    const png = await readFile(path.join(dir, 'page1.png'));
    const image = sharp(png);
    const meta = await image.metadata();
    // A4 at 80 dpi is about 661 × 935 pixels.
    expect(meta.width).toBeGreaterThan(600);
    expect(meta.height).toBeGreaterThan(850);
    const stats = await image.stats();
    // Not blank: dark text on white gives a wide spread of grey levels.
    expect(stats.channels[0]!.min).toBeLessThan(80);
    expect(stats.channels[0]!.stdev).toBeGreaterThan(10);
    expect(png.length).toBeGreaterThan(20_000);

    const page1 = (await run('pdftotext', ['-f', '1', '-l', '1', '-layout', file, '-'])).stdout;
    expect(page1).toContain(r.effectiveOverall!.toFixed(2));
    expect(page1).toContain('Technical');
    expect(page1).toContain('Communication');
    const text = await pdfText(pdf, 'direct-text');
    expect(text).toContain(CHART_TITLE);
    expect(text).toContain('bars: blinks');
    expect(text).toContain('Not answered.');
  });

  it('the report job prints after scoring; GET report.pdf serves the stored PDF, and a new one after an override', async () => {
    const url = `/api/sessions/${sessionId}/report.pdf`;
    const prefix = `orgs/${orgId}/sessions/${sessionId}/reports/`;
    // `interview.scored` started the job: one print of the report, HTML and PDF stored and recorded.
    await vi.waitFor(async () => expect((await rows()).pdf?.status).toBe('ready'), { timeout: 60_000, interval: 100 });
    expect(prints).toBe(1);
    const stored = await h.storage.list(prefix);
    expect(stored).toHaveLength(2);
    const { html, pdf } = await rows();
    expect(html).toMatchObject({ status: 'ready', storageKey: stored.find((k) => k.endsWith('.html')) });
    expect(pdf!.storageKey).toBe(stored.find((k) => k.endsWith('.pdf')));
    const storedHtml = Buffer.from((await h.storage.get(html!.storageKey!)).bytes).toString('utf8');
    expect(storedHtml).toBe(renderReportHtml(await report()));

    const first = await t.call('GET', url, 'recruiter');
    expect(first.statusCode).toBe(200);
    expect(first.headers['content-type']).toBe('application/pdf');
    expect(await pdfText(first.rawPayload, 'first')).toContain(CHART_TITLE);
    const second = await t.call('GET', url, 'recruiter');
    expect(second.rawPayload.equals(first.rawPayload)).toBe(true);
    // A redelivered request finds the PDF of this HTML stored and prints nothing.
    expect(await t.scoring.reports.printStored(orgId, sessionId, { lastAttempt: false })).toBe('current');
    expect(prints).toBe(1);

    const r = await report();
    const criterion = r.questions[0]!.criteria.find((c) => c.key === 'accuracy')!;
    const overridden = await t.call(
      'POST',
      `/api/sessions/${sessionId}/scores/${criterion.scoreId}/override`,
      'recruiter',
      {
        score: criterion.score === 5 ? 4 : 5,
        reason: 'Confirmed in the follow-up call.',
      },
    );
    expect(overridden.statusCode).toBe(200);
    // The override asked for a print; until it is stored the route answers 202, never the old PDF.
    let third = await t.call('GET', url, 'recruiter');
    while (third.statusCode === 202) {
      expect(third.headers['retry-after']).toBe('2');
      await new Promise((resolve) => setTimeout(resolve, 100));
      third = await t.call('GET', url, 'recruiter');
    }
    expect(third.statusCode).toBe(200);
    expect(third.rawPayload.equals(first.rawPayload)).toBe(false);
    expect(await pdfText(third.rawPayload, 'overridden')).toContain('Confirmed in the follow-up call.');
    expect(prints).toBe(2);
    const now = await h.storage.list(prefix);
    expect(now).toHaveLength(2);
    expect(now.filter((k) => stored.includes(k))).toEqual([]);
  });
});

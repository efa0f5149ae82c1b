import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPORT_RENDERED, ZErrorBody, type TReportRenderedEvent } from '@parley/contracts';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { reports } from '../../infra/db/schema.ts';
import { renderReportPdf, RENDER_FAILED_COOLDOWN_MS } from '../../scoring/index.ts';
// eslint-disable-next-line no-restricted-imports -- the scoring context's harness drives real scored sessions
import { createScoringApp, type ScoringApp } from '../../scoring/testing/scoring-app.ts';
// eslint-disable-next-line no-restricted-imports -- the scoring context's harness drives real scored sessions
import { completedSession, createScoringHarness, type ScoringHarness } from '../../scoring/testing/scoring-harness.ts';
import { runJobs } from '../job-runner.ts';
import type { JobDefinition } from '../job.ts';
import { silentLogger } from '../testing/worker-fixtures.ts';
import { renderReportJob } from './render-report.job.ts';

// The report job on the in-process broker with the real renderer pointed at a browser that is not
// there: every print fails the way it would on a worker without Chromium. Printing itself is
// tested in the real tier (render-report-pdf.real.test.ts).
let h: ScoringHarness;
let t: ScoringApp;
let runner: { stop(): Promise<void> };
let orgId: string;
let sessionId: string;
/** The `report.rendered` events the job published, with the session's PDF row as it was then. */
let announced: { event: TReportRenderedEvent; pdfStatus: string | undefined }[];

/** The harness's broker, noting each `report.rendered` the job publishes through it. */
function noting(harness: ScoringHarness, pdfStatus: (sessionId: string) => Promise<string | undefined>) {
  return {
    async publish(key: string, payload: unknown, options?: { messageId?: string }) {
      if (key === REPORT_RENDERED) {
        const event = payload as TReportRenderedEvent;
        announced.push({ event, pdfStatus: await pdfStatus(event.sessionId) });
      }
      await harness.broker.publish(key, payload, options);
    },
  };
}

beforeAll(async () => {
  announced = [];
  h = await createScoringHarness();
  t = await createScoringApp(h, {
    renderPdf: (html) =>
      renderReportPdf(html, { executablePath: path.join(tmpdir(), 'parley-no-chromium-here'), timeoutMs: 5_000 }),
  });
  runner = await runJobs({
    broker: h.broker,
    logger: silentLogger(),
    jobs: [
      renderReportJob({
        reports: t.scoring.reports,
        broker: noting(h, async () => (await pdfRow())?.status),
      }) as JobDefinition<never>,
    ],
  });
  const { recruiter } = await h.org('Acme');
  orgId = recruiter.orgId;
  t.tokens.set('recruiter', recruiter);
  const session = await completedSession(h, recruiter, { questions: [{ answer: 'We rolled back first.' }] });
  sessionId = session.sessionId;
  await h.scored(sessionId);
});
afterAll(async () => {
  await runner?.stop();
  await t?.close();
  await h?.close();
});

const pdfRow = async () =>
  (
    await h.database.primary
      .select()
      .from(reports)
      .where(and(eq(reports.sessionId, sessionId), eq(reports.kind, 'pdf')))
  )[0];

describe('report.render job', () => {
  it('records a print that fails on every attempt, dead-letters it, and the PDF route says so until the cool-down', async () => {
    // `interview.scored` started the job; its three attempts fail.
    await vi.waitFor(
      async () => {
        const q = (await h.broker.stats()).find((s) => s.queue === 'report.rendering')!;
        expect(q.deadLetters).toBe(1);
      },
      { timeout: 20_000, interval: 50 },
    );
    const row = await pdfRow();
    expect(row).toMatchObject({ orgId, status: 'failed' });
    expect(row!.storageKey).toMatch(
      new RegExp(`^orgs/${orgId}/sessions/${sessionId}/reports/report-[0-9a-f]{32}\\.pdf$`),
    );
    expect(row!.error).toMatch(/parley-no-chromium-here|Executable|executable/);
    // Announced once, on the last attempt (the failure recorded first), so "report ready" still goes out.
    expect(announced).toEqual([{ event: { orgId, sessionId, pdf: 'failed' }, pdfStatus: 'failed' }]);

    const url = `/api/sessions/${sessionId}/report.pdf`;
    const failed = await t.call('GET', url, 'recruiter');
    expect(failed.statusCode).toBe(503);
    expect(ZErrorBody.parse(failed.json()).error.code).toBe('REPORT_RENDER_FAILED');
    expect(Number(failed.headers['retry-after'])).toBe(RENDER_FAILED_COOLDOWN_MS / 1000);

    // After the cool-down the route asks for a print again, and the job tries (and fails) again.
    h.clock.advance(RENDER_FAILED_COOLDOWN_MS / 1000);
    const again = await t.call('GET', url, 'recruiter');
    expect(again.statusCode).toBe(202);
    expect((await pdfRow())!.status).toBe('pending');
    await vi.waitFor(
      async () => {
        const q = (await h.broker.stats()).find((s) => s.queue === 'report.rendering')!;
        expect(q.deadLetters).toBe(2);
      },
      { timeout: 20_000, interval: 50 },
    );
    expect((await pdfRow())!.status).toBe('failed');
    expect(await h.storage.list(`orgs/${orgId}/sessions/${sessionId}/reports/`)).toEqual([]);
    expect(announced.map((a) => a.event.pdf)).toEqual(['failed', 'failed']);
  });
});

describe('report.render job with a renderer that prints', () => {
  let p: ScoringHarness;
  let app: ScoringApp;
  let printing: { stop(): Promise<void> };
  let printed: string;
  const pdfStatus = async (id: string) =>
    (
      await p.database.primary
        .select()
        .from(reports)
        .where(and(eq(reports.sessionId, id), eq(reports.kind, 'pdf')))
    )[0]?.status;

  beforeAll(async () => {
    announced = [];
    p = await createScoringHarness();
    // Chromium is the real tier's; here any bytes stand for the PDF.
    app = await createScoringApp(p, { renderPdf: async () => Buffer.from('%PDF-1.4 stand-in') });
    printing = await runJobs({
      broker: p.broker,
      logger: silentLogger(),
      jobs: [renderReportJob({ reports: app.scoring.reports, broker: noting(p, pdfStatus) }) as JobDefinition<never>],
    });
    const { recruiter } = await p.org('Acme');
    const session = await completedSession(p, recruiter, { questions: [{ answer: 'We rolled back first.' }] });
    printed = session.sessionId;
    await p.scored(printed);
  });
  afterAll(async () => {
    await printing?.stop();
    await app?.close();
    await p?.close();
  });

  it('announces report.rendered once the PDF is stored, and again after a re-print', async () => {
    const ofSession = () => announced.filter((a) => a.event.sessionId === printed);
    await vi.waitFor(() => expect(ofSession()).toHaveLength(1), { timeout: 20_000, interval: 20 });
    expect(ofSession()[0]).toMatchObject({ event: { pdf: 'ready' }, pdfStatus: 'ready' });
    // A re-print (after an override, or a PDF asked for) announces again; the e-mail job mails once.
    await app.scoring.reports.requestRendering({ orgId: ofSession()[0]!.event.orgId, sessionId: printed });
    await vi.waitFor(() => expect(ofSession()).toHaveLength(2), { timeout: 20_000, interval: 20 });
    expect(ofSession()[1]).toMatchObject({ event: { pdf: 'ready' }, pdfStatus: 'ready' });
  });
});

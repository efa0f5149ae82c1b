import { tmpdir } from 'node:os';
import path from 'node:path';
import { ZErrorBody } from '@parley/contracts';
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

beforeAll(async () => {
  h = await createScoringHarness();
  t = await createScoringApp(h, {
    renderPdf: (html) =>
      renderReportPdf(html, { executablePath: path.join(tmpdir(), 'parley-no-chromium-here'), timeoutMs: 5_000 }),
  });
  runner = await runJobs({
    broker: h.broker,
    logger: silentLogger(),
    jobs: [renderReportJob({ reports: t.scoring.reports }) as JobDefinition<never>],
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
  });
});

import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../apps/server/src/shared/testing/test-server.ts';
import { launchChromium } from './support/browser.ts';
import {
  ARTIFACTS,
  expectPlayable,
  linkFor,
  recordAnswer,
  sessionIdOf,
  shot,
  waitUntilReviewable,
} from './support/interview.ts';

const PASSWORD = 'correct horse battery staple';

/** The main navigation's link (pages may link to the same place from their content). */
async function nav(page: Page, name: string): Promise<void> {
  await page.getByRole('navigation').getByRole('link', { name, exact: true }).first().click();
}

async function passDeviceCheck(c: Page): Promise<void> {
  await c.getByRole('heading', { name: 'Camera and microphone check' }).waitFor();
  const ok = c.getByRole('button', { name: 'My camera and microphone work' });
  await expect.poll(() => ok.isEnabled(), { timeout: 30_000 }).toBe(true);
  await ok.click();
}

async function count(server: TestServer, table: 'frames' | 'emotion_analysis', sessionId: string): Promise<number> {
  const result = await server.container.database.primary.execute<{ n: number }>(
    sql`select count(*)::int as n from ${sql.identifier(table)} where session_id = ${sessionId}`,
  );
  return Number(result.rows[0]?.n ?? 0);
}

async function statusOf(server: TestServer, sessionId: string): Promise<string | undefined> {
  const result = await server.container.database.primary.execute<{ status: string }>(
    sql`select status from interview_sessions where id = ${sessionId}`,
  );
  return result.rows[0]?.status;
}

describe('an interview in a real browser, with a real face on the camera and real speech on the microphone', () => {
  let server: TestServer;
  let browser: Browser;
  let recruiterContext: BrowserContext;
  let recruiter: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchChromium();
    recruiterContext = await browser.newContext({ viewport: { width: 1200, height: 860 }, acceptDownloads: true });
    recruiter = await recruiterContext.newPage();
    recruiter.on('pageerror', (e) => pageErrors.push(`recruiter: ${e.message}`));
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('1. a recruiter signs up, writes a question with a rubric, builds an interview and invites a candidate', async () => {
    await recruiter.goto(server.url);
    await recruiter.getByRole('link', { name: 'Create the organisation' }).click();
    await recruiter.getByLabel('Organisation name').fill('Acme');
    await recruiter.getByLabel('Your name').fill('Ada Admin');
    await recruiter.getByLabel('E-mail address').fill('ada@example.com');
    await recruiter.getByLabel('Password').fill(PASSWORD);
    await recruiter.getByRole('button', { name: 'Create organisation' }).click();
    await recruiter.getByRole('heading', { name: 'Sessions' }).waitFor();
    await shot(recruiter, '01-sessions-empty');

    for (const text of ['Warm up: tell us about your week.', 'Tell us about a production incident you handled.']) {
      await nav(recruiter, 'Question bank');
      await recruiter.getByRole('link', { name: 'New question' }).click();
      await recruiter.getByLabel('Question', { exact: true }).fill(text);
      await recruiter.getByLabel('Criterion 1 name').fill('Root cause');
      await recruiter.getByLabel('Criterion 1, Level 1 (poor)').fill('No cause named');
      await recruiter.getByLabel('Criterion 1, Level 3 (acceptable)').fill('A plausible cause');
      await recruiter.getByLabel('Criterion 1, Level 5 (excellent)').fill('Root cause with evidence and follow-up');
      await recruiter.getByRole('button', { name: 'Save question' }).click();
      await recruiter.getByText('Saved.').waitFor();
    }
    await shot(recruiter, '02-question-editor');

    await nav(recruiter, 'Interviews');
    await recruiter.getByRole('link', { name: 'New interview' }).click();
    await recruiter.getByLabel('Title').fill('Backend engineer');
    await recruiter.getByLabel('Video analysis policy').selectOption('insights');
    const choose = recruiter.getByLabel('Question from the bank');
    for (const index of [1, 2]) {
      await choose.selectOption({ index });
      await recruiter.getByRole('button', { name: 'Add question' }).click();
    }
    await recruiter.getByLabel('The first question is a practice question').check();
    await recruiter.getByLabel('Question 1 preparation (seconds)').fill('3');
    await recruiter.getByLabel('Question 2 preparation (seconds)').fill('3');
    await recruiter.getByRole('button', { name: 'Create interview' }).click();
    await recruiter.getByRole('button', { name: 'Publish' }).click();
    await recruiter.getByRole('heading', { name: 'Invite candidates' }).waitFor();
    await recruiter.getByLabel('Candidate name').fill('Carl Candidate');
    await recruiter.getByLabel('Candidate e-mail').fill('carl@example.com');
    await recruiter.getByRole('button', { name: 'Send invitation' }).click();
    await recruiter.getByText('1 invitation queued', { exact: false }).waitFor();
    await shot(recruiter, '03-interview-invited');
    expect(await linkFor(server, 'carl@example.com')).toContain('/take#token=');
  });

  it('2–3. the candidate consents, passes the device check, answers by recording and completes, while the live view shows emotion updates', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const c = await context.newPage();
    c.on('pageerror', (e) => pageErrors.push(`candidate: ${e.message}`));
    await c.goto(await linkFor(server, 'carl@example.com'));
    await c.getByRole('heading', { name: 'Backend engineer' }).waitFor();
    await shot(c, '04-candidate-notice');
    await c.getByLabel('I have read how AI is used').check();
    await c.getByLabel('I agree that my answers are recorded').check();
    await c.getByLabel('I agree that my video is analysed').check();
    await c.getByRole('button', { name: 'Continue' }).click();
    await c.getByRole('heading', { name: 'Camera and microphone check' }).waitFor();
    // Before the interview starts, the server analyses the device check's frames and says it sees a face.
    const deviceFace = c.getByTestId('face-indicator');
    await expect.poll(() => deviceFace.textContent(), { timeout: 60_000 }).toContain('✓ face detected');
    expect(await deviceFace.getAttribute('data-source')).toBe('server');
    const sessionId = await sessionIdOf(server, 'carl@example.com');
    expect(await statusOf(server, sessionId)).toBe('consented');
    expect(await count(server, 'frames', sessionId)).toBeGreaterThan(0);
    expect(await count(server, 'emotion_analysis', sessionId)).toBeGreaterThan(0);
    await shot(c, '05-device-check');
    await passDeviceCheck(c);
    await c.getByRole('button', { name: 'Start the interview' }).click();
    await c.getByRole('heading', { name: 'Practice question' }).waitFor();
    // The server analyses the streamed frames and tells the candidate a face is in view.
    await expect
      .poll(() => c.getByTestId('face-indicator').textContent(), { timeout: 60_000 })
      .toContain('✓ face detected');
    await shot(c, '06-practice');

    // The recruiter's live view receives emotion results while the candidate is on camera.
    await recruiter.goto(`${server.url}/sessions/${sessionId}`);
    await recruiter.getByRole('heading', { name: 'Live view' }).waitFor();
    await expect
      .poll(async () => Number((await recruiter.getByTestId('live-frames').textContent()) ?? '0'), {
        timeout: 60_000,
      })
      .toBeGreaterThan(3);
    await shot(recruiter, '07-live-view');

    await recordAnswer(c, 3);
    // The practice answer plays back from the browser's copy, with its length known and ready at the start.
    const playback = c.getByLabel('Your practice recording');
    expect(await playback.getAttribute('data-testid')).toBe('practice-playback');
    expect(await expectPlayable(playback)).toBeGreaterThan(1);
    await expect.poll(() => playback.evaluate((v: HTMLVideoElement) => v.currentTime)).toBe(0);
    await shot(c, '06b-practice-playback');
    await c.getByRole('button', { name: 'Start the interview' }).click();
    await c.getByRole('heading', { name: /Question 2 of/ }).waitFor();
    await shot(c, '08-question');
    await recordAnswer(c, 8);
    await c.getByRole('button', { name: 'Finish the interview' }).click();
    await c.getByRole('heading', { name: /Thank you/ }).waitFor();
    await shot(c, '09-done');
    await context.close();

    expect(await count(server, 'frames', sessionId)).toBeGreaterThan(3);
    await expect.poll(() => count(server, 'emotion_analysis', sessionId), { timeout: 60_000 }).toBeGreaterThan(3);
  });

  it('3. the review page shows the transcript, scores with evidence and the timeline chart, and the report downloads', async () => {
    const sessionId = await sessionIdOf(server, 'carl@example.com');
    // Scored, and the worker has transcoded each recording to MP4 (seekable, with a duration) with a poster.
    await waitUntilReviewable(server, sessionId, await staffToken(server), 2);
    await recruiter.goto(`${server.url}/sessions/${sessionId}`);
    await recruiter.getByTestId('overall-score').waitFor({ timeout: 30_000 });
    await expect
      .poll(() => recruiter.getByRole('heading', { name: /^(Recording and transcript|Transcript)/ }).count())
      .toBeGreaterThan(0);
    expect(await recruiter.getByTestId('criterion-score').count()).toBeGreaterThan(0);
    expect(await recruiter.getByText('Evidence from the answer:').count()).toBeGreaterThan(0);
    expect(await recruiter.locator('svg.chart').count()).toBeGreaterThan(0);
    await shot(recruiter, '10-review');

    // The scored answer plays from the server (streamed with Range requests) beside its words.
    const answer = recruiter
      .getByRole('article')
      .filter({ has: recruiter.getByTestId('recording-video') })
      .first();
    const video = answer.getByTestId('recording-video');
    expect(await expectPlayable(video)).toBeGreaterThan(3);
    const words = answer.getByTestId('transcript-word');
    expect(await words.count()).toBeGreaterThan(3);
    // Choosing a word seeks the video to where it was said, and lights that word.
    const target = words.nth(Math.floor((await words.count()) / 2));
    const startMs = Number(await target.getAttribute('data-start-ms'));
    expect(startMs).toBeGreaterThan(0);
    await target.click();
    await expect
      .poll(() => video.evaluate((v: HTMLVideoElement) => (v.seeking ? -1 : v.currentTime)))
      .toBeCloseTo(startMs / 1000, 1);
    expect(await target.getAttribute('aria-current')).toBe('true');
    await shot(recruiter, '10a-review-recording');

    const download = recruiter.waitForEvent('download');
    await recruiter.getByRole('button', { name: 'Download report' }).click();
    const file = await download;
    const saved = path.join(ARTIFACTS, file.suggestedFilename());
    await file.saveAs(saved);
    expect(file.suggestedFilename()).toMatch(/\.pdf$/);
    // The PDF is a real document with the score and the chart; its first page is rendered to PNG to look at.
    const text = execFileSync('pdftotext', ['-layout', saved, '-'], { encoding: 'utf8' });
    expect(text).toContain('Carl Candidate');
    expect(text).toMatch(/Blinks and face presence over time/);
    execFileSync('pdftoppm', ['-png', '-r', '60', '-f', '1', '-l', '2', saved, path.join(ARTIFACTS, '12-report-pdf')]);
  });

  it('the recruiter releases feedback; the admin sets the organisation policy, adds a provider key and finds the recordings they watched in the audit log', async () => {
    const sessionId = await sessionIdOf(server, 'carl@example.com');
    await recruiter.goto(`${server.url}/sessions/${sessionId}`);
    await recruiter.getByRole('button', { name: 'Release feedback to the candidate' }).click();
    await recruiter.getByTestId('feedback-released').waitFor();
    const feedback = await server.api.call('GET', `/api/sessions/${sessionId}/feedback`, {
      token: await staffToken(server),
    });
    expect(feedback.status).toBe(200);
    expect(JSON.stringify(feedback.body)).not.toMatch(/"score"/);

    await nav(recruiter, 'Organisation');
    await recruiter.getByLabel('Sessions (days)').fill('180');
    await recruiter.getByRole('button', { name: 'Save policies' }).click();
    await recruiter.getByText('Saved. The change is in the audit log.').waitFor();
    await shot(recruiter, '13-organisation');
    const org = await server.api.call('GET', '/api/admin/organization', { token: await staffToken(server) });
    expect(org.body.retentionDays).toBe(180);

    await nav(recruiter, 'Provider keys');
    await recruiter.getByLabel('API key').fill('sk-e2e-0123456789abcdef');
    await recruiter.getByRole('button', { name: 'Add key' }).click();
    await recruiter.getByRole('button', { name: /Delete key .*cdef/ }).waitFor();
    expect(await recruiter.content()).not.toContain('sk-e2e-0123456789abcdef');
    await shot(recruiter, '14-provider-keys');

    // Watching the recordings on the review page was audited: who, which answer, of which session.
    await nav(recruiter, 'Audit log');
    await recruiter.getByLabel('Action').fill('recording.viewed');
    await recruiter.getByRole('button', { name: 'Filter' }).click();
    const rows = recruiter.getByRole('row').filter({ hasText: 'recording.viewed' });
    await rows.first().waitFor();
    expect(await rows.first().textContent()).toMatch(/answer [0-9a-f-]{36}.*Ada Admin/);
    expect(await rows.first().textContent()).toContain(sessionId);
    await shot(recruiter, '15-audit-log');
  });

  it('4. a candidate who declines video analysis completes, and no frame is analysed or stored', async () => {
    await nav(recruiter, 'Interviews');
    await recruiter.getByRole('link', { name: 'Backend engineer' }).click();
    await recruiter.getByLabel('Candidate name').fill('Dee Declines');
    await recruiter.getByLabel('Candidate e-mail').fill('dee@example.com');
    await recruiter.getByRole('button', { name: 'Send invitation' }).click();
    await recruiter.getByText('1 invitation queued', { exact: false }).waitFor();

    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const d = await context.newPage();
    d.on('pageerror', (e) => pageErrors.push(`declining candidate: ${e.message}`));
    let sockets = 0;
    d.on('websocket', () => sockets++);
    await d.goto(await linkFor(server, 'dee@example.com'));
    await d.getByLabel('I have read how AI is used').check();
    await d.getByLabel('I agree that my answers are recorded').check();
    await d.getByRole('button', { name: 'Continue' }).click();
    await d.getByRole('heading', { name: 'Camera and microphone check' }).waitFor();
    // Nothing is sent for the check: the indicator says so instead of claiming a server result.
    const localFace = d.getByTestId('face-indicator');
    await localFace.waitFor();
    expect(await localFace.getAttribute('data-source')).not.toBe('server');
    expect(await localFace.textContent()).toMatch(/not checked|this device only/);
    await shot(d, '11a-declined-device-check');
    await passDeviceCheck(d);
    await d.getByRole('button', { name: 'Start the interview' }).click();
    await d.getByRole('heading', { name: 'Practice question' }).waitFor();
    await d.getByText('Type your answer instead').click();
    await d.getByLabel('Your answer').fill('A quiet week.');
    await d.getByRole('button', { name: 'Submit typed answer' }).click();
    await d.getByText('Your answer was saved').waitFor();
    await d.getByRole('button', { name: 'Start the interview' }).click();
    await d.getByRole('heading', { name: /Question 2 of/ }).waitFor();
    await d.getByText('Type your answer instead').click();
    await d.getByLabel('Your answer').fill('A failover; the root cause was a missing index; we added monitoring.');
    await d.getByRole('button', { name: 'Submit typed answer' }).click();
    await d.getByText('Your answer was saved').waitFor();
    await d.getByRole('button', { name: 'Finish the interview' }).click();
    await d.getByRole('heading', { name: /Thank you/ }).waitFor();
    await shot(d, '11-declined-done');
    await context.close();

    const sessionId = await sessionIdOf(server, 'dee@example.com');
    expect(sockets).toBe(0);
    expect(await count(server, 'frames', sessionId)).toBe(0);
    expect(await count(server, 'emotion_analysis', sessionId)).toBe(0);
    const keys = await server.container.storage.list(`orgs/`);
    expect(keys.filter((k) => k.includes(sessionId) && k.includes('frame'))).toEqual([]);
  });

  it('raised no error in any page', () => {
    expect(pageErrors).toEqual([]);
  });
});

let cachedToken: string | undefined;
async function staffToken(server: TestServer): Promise<string> {
  cachedToken ??= (
    await server.api.call('POST', '/api/auth/sign-in', { body: { email: 'ada@example.com', password: PASSWORD } })
  ).body.accessToken as string;
  return cachedToken;
}

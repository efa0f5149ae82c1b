import AxeBuilder from '@axe-core/playwright';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rubric } from '../apps/server/src/interviews/testing.ts';
import { startTestServer, type TestServer } from '../apps/server/src/shared/testing/test-server.ts';
import { launchChromium } from './support/browser.ts';
import { expectPlayable, linkFor, recordAnswer, sessionIdOf, waitUntilReviewable } from './support/interview.ts';

const PASSWORD = 'correct horse battery staple';
const ADMIN = { orgName: 'Access', name: 'Ada Admin', email: 'ada@access.test', password: PASSWORD };

/**
 * axe-core's WCAG 2.0/2.1 A and AA rules (labels, names, contrast, landmarks, ARIA) on what the
 * page shows now. Serious and critical findings fail; each is listed with the elements it names.
 */
async function violations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** Wider than the screen means sideways scrolling on a phone. */
async function overflowsSideways(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
}

/** Tabs forward until the focused element has the accessible name, then returns; fails after 40 stops. */
async function tabTo(page: Page, name: RegExp): Promise<void> {
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    const label = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el) return '';
      const input = el as HTMLInputElement;
      return [el.getAttribute('aria-label'), ...Array.from(input.labels ?? [], (l) => l.textContent), el.textContent]
        .filter(Boolean)
        .join(' ');
    });
    if (name.test(label)) return;
  }
  throw new Error(`no focusable control named ${name} within 40 tab stops`);
}

/** Signs in as the admin on the sign-in page and waits for the first page after it. */
async function signIn(page: Page, server: TestServer): Promise<void> {
  await page.goto(`${server.url}/sign-in`);
  await page.getByLabel('E-mail address').fill(ADMIN.email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('Password').press('Enter');
  await page.getByRole('heading', { name: 'Sessions' }).waitFor();
}

describe('accessibility in a real browser: every main screen passes axe (WCAG 2.1 AA)', () => {
  let server: TestServer;
  let browser: Browser;
  let admin: string;
  let link: string;
  /** The candidate, kept on camera from the practice question until the live view has been checked. */
  let candidateContext: BrowserContext;
  let candidate: Page;

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchChromium();
    admin = (await server.api.call('POST', '/api/auth/sign-up', { body: ADMIN })).body.accessToken as string;
    const ids: string[] = [];
    for (const text of ['Warm up: tell us about your week.', 'Tell us about a hard bug you fixed.']) {
      const q = await server.api.call('POST', '/api/questions', {
        token: admin,
        body: { text, category: 'general', difficulty: 2, tags: [], expectedSeconds: 60, rubric: rubric() },
      });
      expect(q.status).toBe(201);
      ids.push(q.body.id);
    }
    const interview = await server.api.call('POST', '/api/interviews', {
      token: admin,
      body: {
        title: 'Support engineer',
        settings: {
          language: 'en',
          deadline: null,
          emotionPolicy: 'insights',
          weights: { answers: 1, emotion: 0, behavioral: 0 },
        },
        questions: ids.map((questionId, i) => ({ questionId, isPractice: i === 0, prepSeconds: 30 })),
      },
    });
    expect(interview.status).toBe(201);
    expect(
      (await server.api.call('POST', `/api/interviews/${interview.body.id}/publish`, { token: admin })).status,
    ).toBe(200);
    const invited = await server.api.call('POST', `/api/interviews/${interview.body.id}/invitations`, {
      token: admin,
      body: { candidates: [{ name: 'Kim Keyboard', email: 'kim@access.test' }] },
    });
    expect(invited.status).toBe(201);
    link = await linkFor(server, 'kim@access.test');
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('a candidate on a phone-sized screen gets through the notice by keyboard alone; notice, device check, practice question and the playback of the practice answer pass axe without sideways scrolling', async () => {
    candidateContext = await browser.newContext({ viewport: { width: 360, height: 740 } });
    const page = (candidate = await candidateContext.newPage());
    await page.goto(link);
    await page.getByRole('heading', { name: 'Support engineer' }).waitFor();
    expect(await violations(page)).toEqual([]);
    expect(await overflowsSideways(page)).toBe(false);

    // Keyboard only: tab to each consent, tick it with the space bar, then Enter on Continue.
    for (const consent of [/I have read how AI is used/, /my answers are recorded/, /my video is analysed/]) {
      await tabTo(page, consent);
      await page.keyboard.press('Space');
    }
    await tabTo(page, /^\s*Continue\s*$/);
    await page.keyboard.press('Enter');

    await page.getByRole('heading', { name: 'Camera and microphone check' }).waitFor();
    const ok = page.getByRole('button', { name: 'My camera and microphone work' });
    await expect.poll(() => ok.isEnabled(), { timeout: 30_000 }).toBe(true);
    expect(await violations(page)).toEqual([]);
    expect(await overflowsSideways(page)).toBe(false);
    await ok.focus();
    await page.keyboard.press('Enter');
    await tabTo(page, /Start the interview/);
    await page.keyboard.press('Enter');

    // The practice question, in its preparation time: the prompt is on screen as text.
    await page.getByRole('heading', { name: 'Practice question' }).waitFor();
    await page.getByText('Warm up: tell us about your week.').waitFor();
    expect(await violations(page)).toEqual([]);
    expect(await overflowsSideways(page)).toBe(false);

    // The practice answer, recorded, plays back here: labelled, and started from the keyboard.
    await recordAnswer(page, 3);
    const playback = page.getByLabel('Your practice recording');
    await expectPlayable(playback);
    expect(await violations(page)).toEqual([]);
    expect(await overflowsSideways(page)).toBe(false);
    await tabTo(page, /Your practice recording/);
    await page.keyboard.press('Space');
    await expect.poll(() => playback.evaluate((v: HTMLVideoElement) => v.paused)).toBe(false);
  });

  it('the recruiter’s live view of the candidate on camera passes axe', async () => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 860 } });
    const page = await context.newPage();
    await signIn(page, server);
    await page.goto(`${server.url}/sessions/${await sessionIdOf(server, 'kim@access.test')}`);
    await page.getByRole('heading', { name: 'Live view' }).waitFor();
    await expect
      .poll(async () => Number(await page.getByTestId('live-frames').textContent()), { timeout: 60_000 })
      .toBeGreaterThan(0);
    expect(await violations(page)).toEqual([]);
    await context.close();

    // The candidate answers the one scored question and finishes, for the review page.
    await candidate.getByRole('button', { name: 'Start the interview' }).click();
    await candidate.getByRole('heading', { name: /Question 2 of/ }).waitFor();
    await recordAnswer(candidate, 3);
    await candidate.getByRole('button', { name: 'Finish the interview' }).click();
    await candidate.getByRole('heading', { name: /Thank you/ }).waitFor();
    await candidateContext.close();
  });

  it('a recruiter’s screens (sign-in, a session’s review with its recording player and transcript, sessions, question bank and editor, interviews and builder, users, organisation, provider keys, audit log) pass axe', async () => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 860 } });
    const page = await context.newPage();
    await page.goto(`${server.url}/sign-in`);
    await page.getByLabel('E-mail address').waitFor();
    const found: Record<string, string[]> = {};
    found['/sign-in'] = await violations(page);
    await signIn(page, server);

    // The review page once scored and processed: the recording loaded beside its timed transcript.
    const sessionId = await sessionIdOf(server, 'kim@access.test');
    await waitUntilReviewable(server, sessionId, admin, 2);
    await page.goto(`${server.url}/sessions/${sessionId}`);
    await page.getByTestId('overall-score').waitFor({ timeout: 30_000 });
    await expectPlayable(page.getByTestId('recording-video').last());
    await page.getByTestId('transcript-word').first().waitFor();
    await page.waitForLoadState('networkidle');
    found['/sessions/:id'] = await violations(page);

    const screens: [string, string][] = [
      ['/sessions', 'Sessions'],
      ['/questions', 'Question bank'],
      ['/questions/new', 'New question'],
      ['/interviews', 'Interviews'],
      ['/interviews/new', 'New interview'],
      ['/admin/users', 'Users'],
      ['/admin/organization', 'Organisation'],
      ['/admin/llm-keys', 'Provider keys'],
      ['/admin/audit', 'Audit log'],
    ];
    for (const [path, heading] of screens) {
      await page.goto(`${server.url}${path}`);
      await page.getByRole('heading', { name: heading, exact: false }).first().waitFor();
      // Let the page's data arrive (loading states are checked too, but the full page matters most).
      await page.waitForLoadState('networkidle');
      found[path] = await violations(page);
    }
    expect(Object.fromEntries(Object.entries(found).filter(([, v]) => v.length > 0))).toEqual({});
    await context.close();
  });
});

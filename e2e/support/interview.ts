import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { TSessionRecordings, TSessionView } from '@parley/contracts';
import { sql } from 'drizzle-orm';
import type { Locator, Page } from 'playwright-core';
import { expect } from 'vitest';
import { waitForMail } from '../../apps/server/src/shared/testing/outbox.ts';
import type { TestServer } from '../../apps/server/src/shared/testing/test-server.ts';

/** What the browser tests leave for people to look at (not committed). */
export const ARTIFACTS = path.resolve(import.meta.dirname, '..', 'artifacts');

/** A screenshot of the whole page, in e2e/artifacts. */
export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** The link in the newest invitation to `email`, which the in-process worker mails shortly after the request. */
export async function linkFor(server: TestServer, email: string): Promise<string> {
  const mail = await waitForMail(
    () => server.outbox(),
    (m) => m.includes(email) && /#token=/.test(m),
  );
  const token = /#token=([\w-]+)/.exec(mail)![1]!;
  return `${server.url}/take#token=${token}`;
}

export async function sessionIdOf(server: TestServer, email: string): Promise<string> {
  const result = await server.container.database.primary.execute<{ id: string }>(
    sql`select s.id from interview_sessions s join users u on u.id = s.candidate_id where u.email = ${email}`,
  );
  const id = result.rows[0]?.id;
  if (!id) throw new Error(`no session for ${email}`);
  return id;
}

/** Records an answer of about `seconds` from the fake camera and microphone, and waits until it is saved. */
export async function recordAnswer(page: Page, seconds: number): Promise<void> {
  await page.getByRole('button', { name: 'Start recording' }).click();
  await page.waitForTimeout(seconds * 1000);
  await page.getByRole('button', { name: 'Stop and submit recording' }).click();
  await page.getByText('Your answer was saved').waitFor({ timeout: 30_000 });
}

/**
 * Waits until a finished session is scored and the worker has transcoded each recording (an MP4
 * with a duration, and a poster), so its review page shows everything a recruiter reviews.
 */
export async function waitUntilReviewable(
  server: TestServer,
  sessionId: string,
  staffToken: string,
  recordings: number,
): Promise<void> {
  await expect
    .poll(
      async () =>
        (await server.api.call<TSessionView>('GET', `/api/sessions/${sessionId}`, { token: staffToken })).body.status,
      { timeout: 180_000, interval: 1000 },
    )
    .toBe('scored');
  await expect
    .poll(
      async () =>
        (
          await server.api.call<TSessionRecordings>('GET', `/api/sessions/${sessionId}/recordings`, {
            token: staffToken,
          })
        ).body.recordings.map((r) => r.processing === 'ready'),
      { timeout: 120_000, interval: 1000 },
    )
    .toEqual(Array.from({ length: recordings }, () => true));
}

/** A `<video>` or `<audio>` that has loaded its metadata without error and knows how long it is; returns the seconds. */
export async function expectPlayable(media: Locator): Promise<number> {
  await media.scrollIntoViewIfNeeded();
  await expect
    .poll(() => media.evaluate((m: HTMLMediaElement) => m.readyState), { timeout: 30_000 })
    .toBeGreaterThanOrEqual(1);
  expect(await media.evaluate((m: HTMLMediaElement) => m.error)).toBeNull();
  await expect
    .poll(() => media.evaluate((m: HTMLMediaElement) => Number.isFinite(m.duration)), { timeout: 10_000 })
    .toBe(true);
  return media.evaluate((m: HTMLMediaElement) => m.duration);
}

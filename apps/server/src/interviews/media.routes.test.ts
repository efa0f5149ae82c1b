import { ZAuditEntry, ZSessionRecordings, type TSessionRecordings } from '@parley/contracts';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { answerMedia, answers } from '../infra/db/schema.ts';
import { createMailer, type Mailer } from '../infra/mail/index.ts';
import { accountsOf } from '../roles/modules.ts';
import { waitForMail } from '../shared/testing/outbox.ts';
import { startTestServer, type TestServer } from '../shared/testing/test-server.ts';
import { startEmailJobs } from '../workers/index.ts';

const PASSWORD = 'correct horse battery';
/** Stand-ins for a browser upload and a worker's output: the route serves bytes, it does not decode them. */
const UPLOAD = new Uint8Array(Array.from({ length: 1000 }, (_, i) => i % 251));
const MP4 = new Uint8Array(Array.from({ length: 4000 }, (_, i) => (i * 7) % 256));
const POSTER = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4]);
type TAuditEntry = z.infer<typeof ZAuditEntry>;
const WORDS = [
  { word: 'we', startMs: 0, endMs: 300, confidence: 0.9 },
  { word: 'rolled', startMs: 300, endMs: 800 },
  { word: 'back', startMs: 800, endMs: 1200, confidence: 0.7 },
];

describe('recording playback for staff: a list with word timings and media URLs that stream with Range', () => {
  let server: TestServer;
  let email: { stop(): Promise<void> } | undefined;
  let mailer: Mailer | undefined;
  let recruiter: string;
  let candidate: string;
  let otherOrgRecruiter: string;
  let sessionId: string;
  let answerId: string;
  let orgId: string;

  const get = (url: string, headers: Record<string, string> = {}) => fetch(new URL(url, server.url), { headers });
  const bytesOf = async (res: Response) => new Uint8Array(await res.arrayBuffer());
  const list = async (token = recruiter): Promise<TSessionRecordings> => {
    const res = await server.api.call('GET', `/api/sessions/${sessionId}/recordings`, { token });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return ZSessionRecordings.parse(res.body);
  };

  beforeAll(async () => {
    // No worker: this test plays the worker's part by writing answer_media itself. Only its
    // e-mail job runs, for the invitation link.
    server = await startTestServer({ ROLES: 'gateway,interview' });
    const c = server.container;
    email = await startEmailJobs({
      broker: c.broker,
      database: c.database,
      mail: (mailer = createMailer(c.config)),
      logger: c.logger,
      publicUrl: c.config.server.publicUrl,
    });
    const api = server.api;
    const signUp = await api.call('POST', '/api/auth/sign-up', {
      body: { orgName: 'Acme', name: 'Ada', email: 'ada@acme.test', password: PASSWORD },
    });
    recruiter = signUp.body.accessToken;
    const question = await api.call('POST', '/api/questions', {
      token: recruiter,
      body: {
        text: 'Tell us about an incident',
        rubric: { criteria: [{ key: 'c', name: 'Clarity', weight: 1, anchors: { '1': 'a', '3': 'b', '5': 'c' } }] },
      },
    });
    expect(question.status, JSON.stringify(question.body)).toBe(201);
    const interview = await api.call('POST', '/api/interviews', {
      token: recruiter,
      body: { title: 'Backend', questions: [{ questionId: question.body.id }] },
    });
    await api.call('POST', `/api/interviews/${interview.body.id}/publish`, { token: recruiter });
    await api.call('POST', `/api/interviews/${interview.body.id}/invitations`, {
      token: recruiter,
      body: { candidates: [{ name: 'Cara', email: 'cara@acme.test' }] },
    });
    const mail = await waitForMail(
      () => server.outbox(),
      (m) => m.includes('cara@acme.test'),
    );
    const accepted = await api.call('POST', '/api/invitations/accept', {
      body: { token: /token=([A-Za-z0-9_-]+)/.exec(mail)?.[1] },
    });
    sessionId = accepted.body.sessionId;
    candidate = accepted.body.tokens.accessToken;
    await api.call('POST', `/api/sessions/${sessionId}/consent`, {
      token: candidate,
      body: { aiNotice: true, recording: true, videoAnalysis: false, textVersion: 'v1' },
    });
    await api.call('POST', `/api/sessions/${sessionId}/start`, { token: candidate });
    const uploaded = await api.call('PUT', `/api/sessions/${sessionId}/answers/0/recording`, {
      token: candidate,
      body: UPLOAD,
      headers: { 'content-type': 'video/webm' },
    });
    expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(201);
    answerId = uploaded.body.id;
    const [row] = await server.container.database.primary
      .update(answers)
      .set({ transcript: 'we rolled back', transcriptSource: 'test', words: WORDS })
      .where(eq(answers.id, answerId))
      .returning({ orgId: answers.orgId });
    orgId = row!.orgId;

    const accounts = await accountsOf(server.container);
    await accounts.service.createAdmin({ orgName: 'Beta', email: 'bob@beta.test', name: 'Bob', password: PASSWORD });
    otherOrgRecruiter = (
      await api.call('POST', '/api/auth/sign-in', { body: { email: 'bob@beta.test', password: PASSWORD } })
    ).body.accessToken;
  });
  afterAll(async () => {
    await email?.stop();
    await mailer?.close();
    await server?.close();
  });

  it('lists the recorded answer with its word timings and streams the upload as it arrived until processing ends', async () => {
    const { recordings, urlsExpireAt } = await list();
    expect(recordings).toHaveLength(1);
    const [r] = recordings;
    expect(r).toMatchObject({
      answerId,
      position: 0,
      attempt: 1,
      source: 'original',
      processing: null,
      contentType: 'video/webm',
      posterUrl: null,
      transcript: 'we rolled back',
      words: WORDS,
    });
    expect(Date.parse(urlsExpireAt)).toBeGreaterThan(Date.now());
    expect(r!.url).toMatch(new RegExp(`^/api/answers/${answerId}/recording\\?token=`));

    const res = await get(r!.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/webm');
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('content-length')).toBe(String(UPLOAD.length));
    expect(await bytesOf(res)).toEqual(UPLOAD);
  });

  it('answers a byte range with 206 and Content-Range, a suffix too, and a range outside the file with 416', async () => {
    const [r] = (await list()).recordings;
    const part = await get(r!.url, { range: 'bytes=100-199' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${UPLOAD.length}`);
    expect(part.headers.get('content-length')).toBe('100');
    expect(await bytesOf(part)).toEqual(UPLOAD.slice(100, 200));

    const open = await get(r!.url, { range: 'bytes=990-' });
    expect(open.status).toBe(206);
    expect(await bytesOf(open)).toEqual(UPLOAD.slice(990));
    const suffix = await get(r!.url, { range: 'bytes=-5' });
    expect(suffix.headers.get('content-range')).toBe(`bytes 995-999/${UPLOAD.length}`);
    expect(await bytesOf(suffix)).toEqual(UPLOAD.slice(995));

    for (const range of [`bytes=${UPLOAD.length}-`, 'bytes=50-10', 'bytes=x-y']) {
      const refused = await get(r!.url, { range });
      expect([range, refused.status]).toEqual([range, 416]);
      expect(refused.headers.get('content-range')).toBe(`bytes */${UPLOAD.length}`);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('RANGE_NOT_SATISFIABLE');
    }
  });

  it('never serves an upload under a declared type that is not plainly audio or video', async () => {
    const db = server.container.database.primary;
    await db.update(answers).set({ mediaContentType: 'text/html' }).where(eq(answers.id, answerId));
    const [r] = (await list()).recordings;
    const res = await get(r!.url);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    await db.update(answers).set({ mediaContentType: 'video/webm' }).where(eq(answers.id, answerId));
  });

  it('serves the transcoded MP4 and its poster once processing made them from the current recording', async () => {
    const db = server.container.database.primary;
    const storage = server.container.storage;
    const [answer] = await db.select().from(answers).where(eq(answers.id, answerId));
    const videoKey = `${answer!.mediaKey}.derived/video.mp4`;
    const posterKey = `${answer!.mediaKey}.derived/poster.jpg`;
    await storage.put(videoKey, MP4, 'video/mp4');
    await storage.put(posterKey, POSTER, 'image/jpeg');
    await db.insert(answerMedia).values({
      orgId,
      sessionId,
      answerId,
      sourceKey: answer!.mediaKey!,
      status: 'processing',
      attempts: 1,
    });
    // Still processing: the upload is what plays.
    expect((await list()).recordings[0]).toMatchObject({ source: 'original', processing: 'processing' });

    await db
      .update(answerMedia)
      .set({ status: 'ready', videoKey, posterKey, durationMs: 1500, width: 640, height: 480 })
      .where(and(eq(answerMedia.orgId, orgId), eq(answerMedia.answerId, answerId)));
    const [r] = (await list()).recordings;
    expect(r).toMatchObject({
      source: 'transcoded',
      processing: 'ready',
      contentType: 'video/mp4',
      durationMs: 1500,
      width: 640,
      height: 480,
    });
    const video = await get(r!.url, { range: 'bytes=0-' });
    expect(video.status).toBe(206);
    expect(video.headers.get('content-type')).toBe('video/mp4');
    expect(video.headers.get('content-range')).toBe(`bytes 0-${MP4.length - 1}/${MP4.length}`);
    expect(await bytesOf(video)).toEqual(MP4);
    const poster = await get(r!.posterUrl!);
    expect(poster.status).toBe(200);
    expect(poster.headers.get('content-type')).toBe('image/jpeg');
    expect(await bytesOf(poster)).toEqual(POSTER);

    // A staff bearer token works too (API clients); the candidate's own does not.
    const byBearer = await get(`/api/answers/${answerId}/recording`, { authorization: `Bearer ${recruiter}` });
    expect(byBearer.status).toBe(200);
    expect(await bytesOf(byBearer)).toEqual(MP4);
  });

  /** The organisation's `recording.viewed` audit rows, newest first. */
  const viewed = async (token = recruiter): Promise<TAuditEntry[]> => {
    const res = await server.api.call('GET', '/api/audit?action=recording.viewed&limit=500', { token });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return z.array(ZAuditEntry).parse(res.body.entries);
  };

  it('audits a viewing once per media URL, naming who opened which answer, however many ranges the video asks for', async () => {
    const me = (await server.api.call('GET', '/api/me', { token: recruiter })).body.id as string;
    const before = (await viewed()).length;
    const [r] = (await list()).recordings;
    // Handing out URLs is not viewing.
    expect(await viewed()).toHaveLength(before);

    // A <video> asks for many ranges, some at once, and the poster shares the URL's token.
    const ranges = ['bytes=0-', 'bytes=100-199', 'bytes=-5', 'bytes=0-0', 'bytes=10-20'];
    const statuses = await Promise.all(ranges.map(async (range) => (await get(r!.url, { range })).status));
    expect(statuses).toEqual(ranges.map(() => 206));
    expect((await get(r!.posterUrl!)).status).toBe(200);
    const entries = await viewed();
    expect(entries).toHaveLength(before + 1);
    expect(entries[0]).toMatchObject({
      actorId: me,
      action: 'recording.viewed',
      targetType: 'answer',
      targetId: answerId,
      metadata: { sessionId, position: 0, attempt: 1, via: 'media_url' },
    });

    // A fresh list gives fresh URLs: opening one is another viewing.
    const [again] = (await list()).recordings;
    expect((await get(again!.url, { range: 'bytes=0-0' })).status).toBe(206);
    expect(await viewed()).toHaveLength(before + 2);
  });

  it('audits a staff bearer token once per staff member and answer, and a refused request not at all', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await get(`/api/answers/${answerId}/recording`, {
        authorization: `Bearer ${recruiter}`,
        range: 'bytes=0-9',
      });
      expect(res.status).toBe(206);
    }
    expect((await viewed()).filter((e) => e.metadata.via === 'bearer')).toHaveLength(1);

    const before = (await viewed()).length;
    const beta = (await viewed(otherOrgRecruiter)).length;
    const [r] = (await list()).recordings;
    const token = new URL(r!.url, server.url).searchParams.get('token')!;
    const refused = [
      await get(`/api/answers/${answerId}/recording`, { authorization: `Bearer ${candidate}` }),
      await get(`/api/answers/${answerId}/recording`, { authorization: `Bearer ${otherOrgRecruiter}` }),
      await get(`/api/answers/${answerId}/recording?token=${encodeURIComponent(token.slice(0, -2))}xx`),
      await get(`/api/answers/${crypto.randomUUID()}/recording?token=${encodeURIComponent(token)}`),
    ];
    expect(refused.map((res) => res.status)).toEqual([403, 404, 401, 401]);
    // A range outside the file sends nothing of it: not a viewing either.
    expect((await get(r!.url, { range: 'bytes=999999999-' })).status).toBe(416);
    expect(await viewed()).toHaveLength(before);
    expect(await viewed(otherOrgRecruiter)).toHaveLength(beta);
  });

  it('keeps media URLs to their answer and apart from access tokens', async () => {
    const [r] = (await list()).recordings;
    const token = new URL(r!.url, server.url).searchParams.get('token')!;
    // For another answer (even one that does not exist) the token is not valid.
    const elsewhere = await get(`/api/answers/${crypto.randomUUID()}/recording?token=${encodeURIComponent(token)}`);
    expect(elsewhere.status).toBe(401);
    // A media token is not an access token …
    expect((await server.api.call('GET', '/api/me', { token })).status).toBe(401);
    expect((await server.api.call('GET', `/api/sessions/${sessionId}/recordings`, { token })).status).toBe(401);
    // … and an access token is not a media token.
    const asMedia = await get(`/api/answers/${answerId}/recording?token=${encodeURIComponent(recruiter)}`);
    expect(asMedia.status).toBe(401);
    const tampered = await get(`/api/answers/${answerId}/recording?token=${encodeURIComponent(token.slice(0, -2))}xx`);
    expect(tampered.status).toBe(401);
    expect((await get(`/api/answers/${answerId}/recording`)).status).toBe(401);
  });

  it('is for staff of the organisation: the candidate is refused, another organisation finds nothing', async () => {
    expect((await server.api.call('GET', `/api/sessions/${sessionId}/recordings`, { token: candidate })).status).toBe(
      403,
    );
    const own = await get(`/api/answers/${answerId}/recording`, { authorization: `Bearer ${candidate}` });
    expect(own.status).toBe(403);
    const other = await server.api.call('GET', `/api/sessions/${sessionId}/recordings`, { token: otherOrgRecruiter });
    expect(other.status).toBe(404);
    const otherMedia = await get(`/api/answers/${answerId}/poster`, { authorization: `Bearer ${otherOrgRecruiter}` });
    expect(otherMedia.status).toBe(404);
    // Their own media token for this answer opens nothing either: the answer is not in their organisation.
    const accounts = await accountsOf(server.container);
    const bob = await accounts.service.authenticate(otherOrgRecruiter);
    if (bob.kind !== 'staff') throw new Error('expected staff');
    const { token } = await accounts.service.issueMediaToken(bob, `answer:${answerId}`, 60);
    expect((await get(`/api/answers/${answerId}/recording?token=${encodeURIComponent(token)}`)).status).toBe(404);
  });

  it('stops a media URL when its owner signs out everywhere', async () => {
    const [r] = (await list()).recordings;
    expect((await get(r!.url, { range: 'bytes=0-0' })).status).toBe(206);
    const out = await server.api.call('POST', '/api/auth/sign-out-everywhere', { token: recruiter });
    expect(out.status).toBeLessThan(300);
    expect((await get(r!.url, { range: 'bytes=0-0' })).status).toBe(401);
  });
});

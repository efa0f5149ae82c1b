import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeBinaryFrame } from '@parley/contracts';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createMailer, type Mailer } from './infra/mail/index.ts';
import type { Deployment, Layout } from './shared/testing/layouts.ts';
import { startEmailJobs } from './workers/index.ts';

const SHARED = path.resolve(import.meta.dirname, '..', '..', '..', '..', 'shared', 'data');
const PASSWORD = 'correct horse battery';
const FRAMES = 12;

/** Real 640×480 JPEG frames of a face video, cut by ffmpeg. */
function faceFrames(count: number): Buffer[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-flow-frames-'));
  execFileSync('ffmpeg', [
    '-nostdin',
    '-loglevel',
    'error',
    '-i',
    path.join(SHARED, 'videos', 'happy__happy-1.mp4'),
    '-vf',
    'fps=5,scale=640:480',
    '-frames:v',
    String(count),
    '-q:v',
    '4',
    path.join(dir, 'f%03d.jpg'),
  ]);
  return Array.from({ length: count }, (_, i) =>
    readFileSync(path.join(dir, `f${String(i + 1).padStart(3, '0')}.jpg`)),
  );
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, seconds = 180): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * A whole interview through the public API and the WebSocket, as a candidate's browser would
 * drive it: invite → consent → practice → two spoken answers (real speech) and one typed →
 * frames streamed and acknowledged → completed → transcribed and scored. The worker role is left
 * out, so the events meant for it stay countable in their queues; only its e-mail job runs, in the
 * test, since the invitation link arrives by e-mail.
 */
export interface FlowOptions {
  /** The deployment runs a worker: recordings get processed and its queues drain. */
  workerRunning?: boolean;
  /** Runs between the two batches of frames, mid-interview. */
  midway?: (d: Deployment) => Promise<void>;
}

/** Opens a socket, sends frames [from, to) at under 10/s, waits for every acknowledgement, closes. */
async function streamFrames(
  d: Deployment,
  token: string,
  sessionId: string,
  frames: Buffer[],
  from: number,
  to: number,
): Promise<void> {
  const wsUrl = `${d.api.baseUrl.replace(/^http/, 'ws')}/ws?access_token=${token}`;
  const socket = new WebSocket(wsUrl, d.wsOptions);
  const acks = new Set<number>();
  let ready = false;
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as { type: string; seq?: number };
    if (message.type === 'ready') ready = true;
    if (message.type === 'frame.ack' && typeof message.seq === 'number') acks.add(message.seq);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  await until('the socket to be ready', async () => (ready ? true : undefined), 30);
  for (let seq = from; seq < to; seq++) {
    socket.send(encodeBinaryFrame({ seq, capturedAt: Date.now(), sessionId }, frames[seq]!));
    await new Promise((r) => setTimeout(r, 110));
  }
  await until(`${to - from} acknowledgements`, async () => (acks.size === to - from ? true : undefined), 60);
  socket.close();
}

export function interviewFlowSuite(name: string, layout: Layout, options: FlowOptions = {}): void {
  describe(`a scripted interview, start to finish (${name})`, () => {
    let d: Deployment;
    let email: { stop(): Promise<void> } | undefined;
    let mailer: Mailer | undefined;
    beforeAll(async () => {
      d = await layout({ ROLES: 'gateway,interview,realtime,emotion,scoring' });
      const c = d.processes.find((p) => p.role !== 'gateway')?.server.container;
      if (!options.workerRunning && c) {
        email = await startEmailJobs({
          broker: c.broker,
          database: c.database,
          mail: (mailer = createMailer(c.config)),
          logger: c.logger,
          publicUrl: c.config.server.publicUrl,
        });
      }
    }, 300_000);
    afterAll(async () => {
      await email?.stop();
      await mailer?.close();
      await d?.close();
    });

    it('runs from invitation to a scored report, with every event where it belongs', async () => {
      const admin = (
        await d.api.call('POST', '/api/auth/sign-up', {
          body: { orgName: 'Flow', name: 'Rita', email: 'rita@flow.test', password: PASSWORD },
        })
      ).body.accessToken as string;
      const rubric = (ideal: string, concepts: string[]) => ({
        criteria: [
          {
            key: 'substance',
            name: 'Substance',
            weight: 1,
            anchors: { '1': 'Off topic or empty', '3': 'Relevant but thin', '5': 'Specific, correct and complete' },
          },
        ],
        idealAnswer: ideal,
        keyConcepts: concepts,
      });
      const texts = [
        ['Warm-up: tell us your name.', rubric('A short introduction.', ['name'])],
        [
          readFileSync(path.join(SHARED, 'speech', 'q1_good.txt'), 'utf8').split('\n')[0]!,
          rubric('A structured answer with an example.', ['example']),
        ],
        ['Explain how you test your code.', rubric('Unit tests, integration tests, automation.', ['test'])],
        ['Why do you want this role?', rubric('Motivation tied to the team and product.', ['team'])],
      ] as const;
      const ids: string[] = [];
      for (const [text, r] of texts) {
        const q = await d.api.call('POST', '/api/questions', {
          token: admin,
          body: { text, category: 'general', difficulty: 2, tags: [], expectedSeconds: 120, rubric: r },
        });
        expect(q.status).toBe(201);
        ids.push(q.body.id);
      }
      const interview = await d.api.call('POST', '/api/interviews', {
        token: admin,
        body: {
          title: 'Flow interview',
          settings: {
            language: 'en',
            deadline: null,
            emotionPolicy: 'insights',
            weights: { answers: 1, emotion: 0, behavioral: 0 },
          },
          questions: ids.map((questionId, i) => ({ questionId, isPractice: i === 0, prepSeconds: 0 })),
        },
      });
      expect(interview.status).toBe(201);
      expect((await d.api.call('POST', `/api/interviews/${interview.body.id}/publish`, { token: admin })).status).toBe(
        200,
      );
      const invited = await d.api.call('POST', `/api/interviews/${interview.body.id}/invitations`, {
        token: admin,
        body: { candidates: [{ name: 'Casey Candidate', email: 'casey@flow.test' }] },
      });
      expect(invited.status).toBe(201);

      // The e-mail job sends the invitation shortly after the request.
      const mail = await until('the invitation e-mail', async () =>
        (await d.outbox()).find((m) => m.includes('casey@flow.test')),
      );
      const link = /token=([A-Za-z0-9_-]+)/.exec(mail)?.[1];
      expect(link).toBeDefined();
      const accepted = await d.api.call('POST', '/api/invitations/accept', { body: { token: link } });
      expect(accepted.status).toBe(200);
      const sessionId = accepted.body.sessionId as string;
      const candidate = accepted.body.tokens.accessToken as string;

      const consent = await d.api.call('POST', `/api/sessions/${sessionId}/consent`, {
        token: candidate,
        body: { aiNotice: true, recording: true, videoAnalysis: true, textVersion: 'v1' },
      });
      expect(consent.status).toBe(200);
      expect((await d.api.call('POST', `/api/sessions/${sessionId}/start`, { token: candidate })).status).toBe(200);

      // Frames over the WebSocket; each must come back acknowledged. Two batches on two sockets,
      // with whatever the layout does in between (a split deployment kills processes there).
      const frames = faceFrames(FRAMES);
      const half = Math.floor(FRAMES / 2);
      await streamFrames(d, candidate, sessionId, frames, 0, half);
      await options.midway?.(d);
      await streamFrames(d, candidate, sessionId, frames, half, FRAMES);

      // Practice (never scored), two spoken answers, one typed.
      const text = async (position: number, answer: string) =>
        d.api.call('POST', `/api/sessions/${sessionId}/answers/text`, {
          token: candidate,
          body: { position, text: answer },
        });
      const upload = async (position: number, wav: string) =>
        d.api.call('PUT', `/api/sessions/${sessionId}/answers/${position}/recording`, {
          token: candidate,
          body: readFileSync(path.join(SHARED, 'speech', wav)),
          headers: { 'content-type': 'audio/wav' },
        });
      const next = async (position: number) =>
        d.api.call('POST', `/api/sessions/${sessionId}/next`, { token: candidate, body: { position } });

      expect((await text(0, 'My name is Casey.')).status).toBe(200);
      expect((await next(0)).status).toBe(200);
      const uploaded = await upload(1, 'q1_good.wav');
      expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(201);
      expect((await next(1)).status).toBe(200);
      expect((await upload(2, 'q2_good.wav')).status).toBe(201);
      expect((await next(2)).status).toBe(200);
      expect(
        (await text(3, 'I want to join a team that builds tools people rely on, and this product does.')).status,
      ).toBe(200);
      const completed = await d.api.call('POST', `/api/sessions/${sessionId}/complete`, { token: candidate });
      expect(completed.status).toBe(200);

      // Scoring picks up interview.completed, transcribes the recordings and scores every answer.
      const scored = await until('the session to be scored', async () => {
        const view = await d.api.call('GET', `/api/sessions/${sessionId}`, { token: admin });
        return view.body.status === 'scored' ? view.body : undefined;
      });
      expect(scored.status).toBe('scored');
      const answers = (await d.api.call('GET', `/api/sessions/${sessionId}/answers`, { token: admin })).body
        .answers as { position: number; transcript: string | null; transcriptSource: string | null }[];
      const spoken = answers.filter((a) => a.position === 1 || a.position === 2);
      expect(spoken).toHaveLength(2);
      for (const a of spoken) {
        expect(a.transcriptSource).toMatch(/^pocketsphinx/);
        expect((a.transcript ?? '').split(/\s+/).length).toBeGreaterThan(10);
      }
      const report = await d.api.call('GET', `/api/sessions/${sessionId}/report`, { token: admin });
      expect(report.status).toBe(200);
      expect(JSON.stringify(report.body)).toContain('offline');

      // Every acknowledged frame was analysed exactly once.
      const inProcess = d.processes.find((p) => p.role !== 'gateway')?.server.container;
      const database = d.database ?? inProcess!.database;
      const broker = d.broker ?? inProcess!.broker;
      const rows = await until('every frame analysed', async () => {
        const result = await database.primary.execute<{ n: number }>(
          sql`select count(*)::int as n from emotion_analysis where session_id = ${sessionId}`,
        );
        const n = Number(result.rows[0]?.n ?? 0);
        return n >= FRAMES ? n : undefined;
      });
      expect(rows).toBe(FRAMES);
      if (options.workerRunning) {
        // The worker processed both recordings and sent the "report ready" mail.
        const processed = await until('both recordings processed', async () => {
          const result = await database.primary.execute<{ n: number }>(
            sql`select count(*)::int as n from answer_media where session_id = ${sessionId} and status = 'ready'`,
          );
          return Number(result.rows[0]?.n ?? 0) === 2 ? 2 : undefined;
        });
        expect(processed).toBe(2);
        await until('the queues to drain', async () => {
          const stats = await broker.stats();
          return stats.every((q) => q.depth === 0) ? true : undefined;
        });
        // The worker printed the report after scoring; the API serves the stored PDF.
        const pdf = await until('the report PDF', async () => {
          const res = await d.api.call('GET', `/api/sessions/${sessionId}/report.pdf`, { token: admin });
          return res.status === 200 ? res : undefined;
        });
        expect(pdf.headers.get('content-type')).toBe('application/pdf');
        expect(String(pdf.body).startsWith('%PDF-')).toBe(true);
      } else {
        // The worker's events wait in their queues: two recordings, the report to print. The e-mail
        // job running here sent the candidate's receipt; "report ready" waits for the print.
        await until('the receipt e-mail', async () =>
          (await d.outbox()).join('\n').includes('We received your interview') ? true : undefined,
        );
        expect((await d.outbox()).join('\n')).not.toContain('Report ready:');
        const stats = Object.fromEntries((await broker.stats()).map((q) => [q.queue, q]));
        expect(stats['video.processing']?.depth).toBe(2);
        expect(stats['notification.email']?.depth).toBe(0);
        expect(stats['report.rendering']?.depth).toBe(1);
      }
      for (const q of await broker.stats()) expect(q.deadLetters, q.queue).toBe(0);
      if (inProcess) {
        // The process that ran every role measured its model inferences and its scoring.
        const metrics = (await d.api.call('GET', '/metrics')).body as string;
        expect(metrics).toMatch(/parley_model_inference_seconds_count\{[^}]*model="face-pipeline"[^}]*\} [1-9]/);
        expect(metrics).toMatch(/parley_scoring_latency_seconds_count\{[^}]*provider="offline"[^}]*\} [1-9]/);
      }
    }, 420_000);
  });
}

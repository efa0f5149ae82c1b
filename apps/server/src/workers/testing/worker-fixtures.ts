/**
 * Test wiring for the workers: a migrated database, encrypted local storage, the in-process broker
 * with the worker topology, and factories that write the rows the other contexts would have
 * written (organisation, staff, candidate, interview, session, answer with a stored recording).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { TVideoUploadedEvent } from '@parley/contracts';
import type { Broker } from '../../infra/broker/broker.ts';
import { MemoryBroker } from '../../infra/broker/memory-broker.ts';
import type { Database } from '../../infra/db/database.ts';
import {
  answerMedia,
  answers,
  frames,
  interviewQuestions,
  interviews,
  interviewSessions,
  invitations,
  organizations,
  questions,
  questionVersions,
  users,
  type OrgSettings,
  type SessionStatus,
} from '../../infra/db/schema.ts';
import { createTestDatabase } from '../../infra/db/testing.ts';
import { createLogger, type Logger } from '../../infra/log.ts';
import { createLocalStorage, type LocalStorage } from '../../infra/storage/local-storage.ts';
import type { Storage } from '../../infra/storage/storage.ts';
import { WORKER_TOPOLOGY } from '../worker-topology.ts';

export const DATA_DIR = path.resolve(import.meta.dirname, '../../../../../../shared/data');
export const silentLogger = (): Logger => createLogger({ level: 'silent' });

export interface Fixtures {
  database: Database;
  storage: Storage;
  dir: string;
  close(): Promise<void>;
}

export async function embeddedFixtures(): Promise<Fixtures & { database: Database; storage: LocalStorage }> {
  const database = await createTestDatabase();
  const dir = await mkdtemp(path.join(tmpdir(), 'parley-workers-'));
  const storage = await createLocalStorage({ root: path.join(dir, 'objects'), masterKey: randomBytes(32) });
  return {
    database,
    storage,
    dir,
    async close() {
      await storage.close();
      await database.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const memoryBroker = (): MemoryBroker => new MemoryBroker({ topology: WORKER_TOPOLOGY });

export async function createOrg(database: Database, settings: OrgSettings = { emotionPolicy: 'scored' }) {
  const [org] = await database.primary
    .insert(organizations)
    .values({ name: 'Acme Hiring', settings })
    .returning({ id: organizations.id });
  const [recruiter] = await database.primary
    .insert(users)
    .values({ orgId: org!.id, email: `rita-${randomUUID()}@acme.test`, name: 'Rita Recruiter', role: 'recruiter' })
    .returning({ id: users.id, email: users.email });
  return { orgId: org!.id, recruiterId: recruiter!.id, recruiterEmail: recruiter!.email };
}

export async function createInterview(
  database: Database,
  orgId: string,
  createdBy: string | null,
  title = 'Backend engineer',
) {
  const [q] = await database.primary.insert(questions).values({ orgId }).returning({ id: questions.id });
  const [v] = await database.primary
    .insert(questionVersions)
    .values({
      orgId,
      questionId: q!.id,
      version: 1,
      text: 'Tell us about a project you led.',
      rubric: { criteria: [], idealAnswer: 'x', keyConcepts: [] },
    })
    .returning({ id: questionVersions.id });
  const [i] = await database.primary
    .insert(interviews)
    .values({ orgId, title, status: 'published', createdBy, publishedAt: new Date() })
    .returning({ id: interviews.id });
  const [iq] = await database.primary
    .insert(interviewQuestions)
    .values({ orgId, interviewId: i!.id, position: 0, questionId: q!.id, questionVersionId: v!.id })
    .returning({ id: interviewQuestions.id });
  return { interviewId: i!.id, questionVersionId: v!.id, interviewQuestionId: iq!.id };
}

export async function createCandidateSession(
  database: Database,
  input: {
    orgId: string;
    interviewId: string;
    status?: SessionStatus;
    createdAt?: Date;
    expiresAt?: Date | null;
    completedAt?: Date | null;
    email?: string;
  },
) {
  const email = input.email ?? `cand-${randomUUID()}@example.test`;
  const [c] = await database.primary
    .insert(users)
    .values({ orgId: input.orgId, email, name: 'Cora Candidate', role: 'candidate' })
    .returning({ id: users.id });
  const [s] = await database.primary
    .insert(interviewSessions)
    .values({
      orgId: input.orgId,
      interviewId: input.interviewId,
      candidateId: c!.id,
      status: input.status ?? 'in_progress',
      createdAt: input.createdAt ?? new Date(),
      expiresAt: input.expiresAt ?? null,
      completedAt: input.completedAt ?? null,
    })
    .returning({ id: interviewSessions.id });
  return { candidateId: c!.id, sessionId: s!.id, email };
}

export async function createInvitation(
  database: Database,
  input: {
    orgId: string;
    interviewId: string;
    email: string;
    expiresAt: Date;
    sentAt?: Date | null;
    sessionId?: string;
  },
) {
  const [row] = await database.primary
    .insert(invitations)
    .values({
      orgId: input.orgId,
      interviewId: input.interviewId,
      kind: 'candidate',
      name: 'Cora Candidate',
      email: input.email,
      tokenHash: randomBytes(32).toString('hex'),
      expiresAt: input.expiresAt,
      sentAt: input.sentAt ?? null,
      sessionId: input.sessionId ?? null,
    })
    .returning({ id: invitations.id });
  return row!.id;
}

/** An answer whose recording (the given bytes) is stored where the interviews context puts it. */
export async function createRecordedAnswer(
  database: Database,
  storage: Storage,
  input: {
    orgId: string;
    sessionId: string;
    questionVersionId: string;
    bytes: Uint8Array;
    position?: number;
    submittedAt?: Date;
    videoAnalysis?: boolean;
  },
): Promise<TVideoUploadedEvent> {
  const position = input.position ?? 0;
  const key = `orgs/${input.orgId}/sessions/${input.sessionId}/answers/${position}-1.webm`;
  await storage.put(key, input.bytes, 'video/webm');
  const [a] = await database.primary
    .insert(answers)
    .values({
      orgId: input.orgId,
      sessionId: input.sessionId,
      questionVersionId: input.questionVersionId,
      position,
      mediaKey: key,
      mediaContentType: 'video/webm',
      submittedAt: input.submittedAt ?? new Date(),
      createdAt: input.submittedAt ?? new Date(),
    })
    .returning({ id: answers.id });
  return {
    orgId: input.orgId,
    sessionId: input.sessionId,
    answerId: a!.id,
    position,
    attempt: 1,
    storageKey: key,
    contentType: 'video/webm',
    sizeBytes: input.bytes.byteLength,
    videoAnalysis: input.videoAnalysis ?? true,
  };
}

const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);

/**
 * A candidate's session as the other contexts leave it after `when`: a stored recording with the
 * workers' derived files (MP4, poster, WAV, two extracted frames) recorded in `answer_media`, and
 * one live-stream frame in `frames`. Seven objects under the session's prefix.
 */
export async function createCandidateWithMedia(
  database: Database,
  storage: Storage,
  input: { orgId: string; interviewId: string; questionVersionId: string; when: Date },
) {
  const { orgId, when } = input;
  const s = await createCandidateSession(database, { orgId, interviewId: input.interviewId, createdAt: when });
  const event = await createRecordedAnswer(database, storage, {
    orgId,
    sessionId: s.sessionId,
    questionVersionId: input.questionVersionId,
    bytes: new Uint8Array([1, 2, 3]),
    submittedAt: when,
  });
  const base = event.storageKey.replace(/\.webm$/, '/derived/');
  for (const name of ['video.mp4', 'poster.jpg', 'audio.wav', 'frames/00001.jpg', 'frames/00002.jpg']) {
    await storage.put(`${base}${name}`, JPEG, 'application/octet-stream');
  }
  await database.primary.insert(answerMedia).values({
    orgId,
    sessionId: s.sessionId,
    answerId: event.answerId,
    sourceKey: event.storageKey,
    status: 'ready',
    videoKey: `${base}video.mp4`,
    posterKey: `${base}poster.jpg`,
    audioKey: `${base}audio.wav`,
    framesPrefix: `${base}frames/`,
    frameCount: 2,
    processedAt: when,
    createdAt: when,
  });
  const frameKey = `orgs/${orgId}/sessions/${s.sessionId}/frames/1-${randomUUID()}.jpg`;
  await storage.put(frameKey, JPEG, 'image/jpeg');
  await database.primary
    .insert(frames)
    .values({ orgId, sessionId: s.sessionId, seq: 1, storageKey: frameKey, capturedAt: when });
  return { ...s, event, base, frameKey };
}

const execFileAsync = promisify(execFile);

/**
 * A browser-like recording (VP8 + Opus WebM) made from the shared test media into a temporary
 * folder: a real face video with real speech. Cached per process.
 */
const recordings = new Map<string, Promise<Uint8Array>>();
export function browserRecording(seconds = 4, clip = 'neutral__neutral-1.mp4'): Promise<Uint8Array> {
  const cacheKey = `${clip}:${seconds}`;
  let made = recordings.get(cacheKey);
  if (!made) {
    made = (async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'parley-recording-'));
      try {
        const out = path.join(dir, 'answer.webm');
        await execFileAsync('ffmpeg', [
          '-nostdin',
          '-loglevel',
          'error',
          '-y',
          '-i',
          path.join(DATA_DIR, 'videos', clip),
          '-i',
          path.join(DATA_DIR, 'speech', 'q1_good.wav'),
          '-t',
          String(seconds),
          '-map',
          '0:v:0',
          '-map',
          '1:a:0',
          '-c:v',
          'libvpx',
          '-deadline',
          'realtime',
          '-cpu-used',
          '8',
          '-b:v',
          '600k',
          '-c:a',
          'libopus',
          out,
        ]);
        return new Uint8Array(await readFile(out));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    })();
    recordings.set(cacheKey, made);
  }
  return made;
}

/** Waits until `check` holds, polling; fails with `what` after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export type { Broker };

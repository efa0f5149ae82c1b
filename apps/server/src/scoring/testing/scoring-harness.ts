/**
 * Test wiring for the scoring context: the embedded adapters (migrated PGlite, encrypted local
 * storage, the in-process broker with the design's topology, the outbox mailer), the real
 * interviews module to drive sessions, and a recorder on `notification.email` (where
 * `interview.scored` lands). Unlike the interviews harness, nothing else consumes
 * `scoring.process`: the scoring consumer under test is its only consumer.
 */
import { nextLinkTokens } from '../../shared/testing/outbox.ts';
import { EMAIL_REQUESTED, type TEmotionPolicy, type TQuestionRubric } from '@parley/contracts';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { BrokerMessage, QueueSpec, Topology } from '../../infra/broker/broker.ts';
import { MemoryBroker, MemoryBrokerHub } from '../../infra/broker/memory-broker.ts';
import { INTERVIEW_EVENTS_TOPOLOGY } from '../../infra/broker/topology.ts';
import { organizations, users, type OrgSettings } from '../../infra/db/schema.ts';
import { createTestDatabase } from '../../infra/db/testing.ts';
import { MemoryCache } from '../../infra/cache/memory-cache.ts';
import { createLogger } from '../../infra/log.ts';
import { OutboxMailer } from '../../infra/mail/outbox-mail.ts';
import { createLocalStorage } from '../../infra/storage/local-storage.ts';
import type { CandidateActor, StaffActor } from '../../shared/actor.ts';
import { createInterviewsModule } from '../../interviews/index.ts';
import { dispatchJob, emailJobs } from '../../workers/index.ts';
// eslint-disable-next-line no-restricted-imports -- the interviews context's test factories drive real sessions
import { questionBody, TestCandidateAccounts, TestClock, type Harness } from '../../interviews/testing.ts';

/** The scoring queue with fast retries, so a test sees the dead-letter path in milliseconds. */
export const FAST_SCORING_QUEUE: QueueSpec = {
  name: 'scoring.process',
  bindings: ['interview.completed'],
  maxAttempts: 3,
  backoffMs: 5,
  maxBackoffMs: 20,
};

/**
 * The workers' report queue (`REPORT_QUEUE`: same name, bindings and attempts) with fast retries,
 * so a test can run the report job on this broker and see what the report routes request.
 */
export const FAST_REPORT_QUEUE: QueueSpec = {
  name: 'report.rendering',
  bindings: ['interview.scored', 'report.render.requested'],
  maxAttempts: 3,
  backoffMs: 5,
  maxBackoffMs: 20,
};

export const FAST_TOPOLOGY: Topology = {
  ...INTERVIEW_EVENTS_TOPOLOGY,
  queues: [
    ...INTERVIEW_EVENTS_TOPOLOGY.queues.map((q) => (q.name === FAST_SCORING_QUEUE.name ? FAST_SCORING_QUEUE : q)),
    FAST_REPORT_QUEUE,
  ],
};

export interface ScoringHarness extends Harness {
  /** Resolves with the next `interview.scored` message for the session (or rejects after `ms`). */
  scored(sessionId: string, ms?: number): Promise<BrokerMessage>;
  scoredMessages(): BrokerMessage[];
  staff(orgId: string, role: 'admin' | 'recruiter'): Promise<StaffActor>;
  /**
   * Another process's connection to the same broker (queues, retries and dead letters are shared);
   * closing it drops the connection: its unacked messages go back to the queue.
   */
  connect(): MemoryBroker;
}

export async function createScoringHarness(options: { orgSettings?: OrgSettings } = {}): Promise<ScoringHarness> {
  const database = await createTestDatabase();
  const dir = await mkdtemp(path.join(tmpdir(), 'parley-scoring-'));
  const storage = await createLocalStorage({ root: path.join(dir, 'objects'), masterKey: randomBytes(32) });
  const hub = new MemoryBrokerHub();
  const broker = new MemoryBroker({ topology: FAST_TOPOLOGY, hub });
  const connections: MemoryBroker[] = [];
  const mail = new OutboxMailer({ dir: path.join(dir, 'outbox'), from: 'Parley <no-reply@parley.test>' });
  const clock = new TestClock();
  const accounts = new TestCandidateAccounts(database);
  const cache = new MemoryCache();
  const logger = createLogger({ level: 'silent' });
  const module = createInterviewsModule({
    database,
    storage,
    broker,
    cache,
    logger,
    accounts,
    clock: clock.now,
    config: { maxRecordingBytes: 4 * 1024 * 1024 },
  });
  const scored: BrokerMessage[] = [];
  const waiters: { sessionId: string; resolve: (m: BrokerMessage) => void }[] = [];
  // Requested e-mails (the invitations) go to the workers' e-mail job, as the worker role would run it.
  const email = emailJobs({ database, mail, publicUrl: 'https://parley.test', clock: clock.now });
  const recorder = await broker.consume('notification.email', async (m) => {
    if (m.routingKey === EMAIL_REQUESTED) return dispatchJob(email, m, logger);
    if (m.routingKey !== 'interview.scored') return;
    scored.push(m);
    const sessionId = (m.payload as { sessionId: string }).sessionId;
    for (const w of waiters.filter((x) => x.sessionId === sessionId)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(m);
    }
  });
  const seen = new Set<string>();

  const staff = async (orgId: string, role: 'admin' | 'recruiter'): Promise<StaffActor> => {
    const [user] = await database.primary
      .insert(users)
      .values({ orgId, email: `${role}-${randomUUID()}@example.test`, name: role === 'admin' ? 'Ada' : 'Rita', role })
      .returning({ id: users.id });
    return { kind: 'staff', orgId, userId: user!.id, role };
  };

  return {
    database,
    storage,
    broker,
    mail,
    cache,
    clock,
    accounts,
    module,
    staff,
    async org(name = 'Acme') {
      const [org] = await database.primary
        .insert(organizations)
        .values({ name, settings: options.orgSettings ?? { emotionPolicy: 'scored' } })
        .returning({ id: organizations.id });
      return { orgId: org!.id, recruiter: await staff(org!.id, 'recruiter') };
    },
    newTokens: (to) => nextLinkTokens(mail.dir, to, seen),
    async published() {
      return [...scored];
    },
    scoredMessages: () => [...scored],
    connect() {
      const connection = new MemoryBroker({ topology: FAST_TOPOLOGY, hub });
      connections.push(connection);
      return connection;
    },
    scored(sessionId, ms = 30_000) {
      const already = scored.find((m) => (m.payload as { sessionId: string }).sessionId === sessionId);
      if (already) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no interview.scored for ${sessionId} within ${ms} ms`)), ms);
        waiters.push({
          sessionId,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
      });
    },
    async close() {
      for (const c of connections) await c.close();
      await recorder.close();
      await broker.close();
      await mail.close();
      await storage.close();
      await cache.close();
      await database.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** One question of a test interview and what the candidate does with it. */
export interface PlannedQuestion {
  text?: string;
  rubric?: TQuestionRubric;
  practice?: boolean;
  /** Typed answer; a recording when `recording` is set; nothing when both are absent. */
  answer?: string;
  recording?: { bytes: Uint8Array; contentType: string };
}

export interface CompletedSession {
  sessionId: string;
  interviewId: string;
  candidate: CandidateActor;
}

/**
 * A session taken to `completed` through the real services: questions → published interview →
 * invitation → redeemed link → consents → answers → complete (which publishes
 * `interview.completed`). Set `complete: false` to stop before completing.
 */
export async function completedSession(
  h: Harness,
  recruiter: StaffActor,
  plan: {
    questions: PlannedQuestion[];
    emotionPolicy?: TEmotionPolicy;
    weights?: { answers: number; emotion: number; behavioral: number };
    consents?: { recording: boolean; videoAnalysis: boolean };
    complete?: boolean;
  },
): Promise<CompletedSession> {
  const created = [];
  for (const [i, q] of plan.questions.entries()) {
    created.push(
      await h.module.questions.create(
        recruiter,
        questionBody({ text: q.text ?? `Question ${i + 1}`, ...(q.rubric ? { rubric: q.rubric } : {}) }),
      ),
    );
  }
  const interview = await h.module.interviews.create(recruiter, {
    title: 'Backend engineer',
    description: '',
    settings: {
      language: 'en',
      deadline: null,
      emotionPolicy: plan.emotionPolicy ?? 'insights',
      weights: plan.weights ?? { answers: 1, emotion: 0, behavioral: 0 },
    },
    questions: created.map((q, i) => ({
      questionId: q.id,
      isPractice: plan.questions[i]!.practice === true,
      prepSeconds: 30,
      answerSeconds: 120,
      retakesAllowed: 0,
    })),
  });
  await h.module.interviews.publish(recruiter, interview.id);
  const email = `cand-${randomUUID()}@example.test`;
  await h.module.invitations.invite(recruiter, interview.id, { candidates: [{ name: 'Cory', email }] });
  const [token] = await h.newTokens(email);
  const accepted = await h.module.invitations.accept({ token: token! });
  const candidate = h.accounts.actors.get(accepted.tokens.accessToken)!;
  const sessionId = accepted.sessionId;
  const s = h.module.sessions;
  await s.consent(candidate, sessionId, {
    aiNotice: true,
    recording: plan.consents?.recording ?? true,
    videoAnalysis: plan.consents?.videoAnalysis ?? true,
    textVersion: 'test-1',
  });
  await s.start(candidate, sessionId);
  for (const [position, q] of plan.questions.entries()) {
    if (q.answer !== undefined) await s.submitText(candidate, sessionId, position, q.answer);
    if (q.recording) {
      await s.uploadRecording(
        candidate,
        sessionId,
        position,
        Readable.from([Buffer.from(q.recording.bytes)]),
        q.recording.contentType,
      );
    }
    if (position < plan.questions.length - 1) await s.next(candidate, sessionId, position);
  }
  if (plan.complete !== false) await s.complete(candidate, sessionId);
  return { sessionId, interviewId: interview.id, candidate };
}

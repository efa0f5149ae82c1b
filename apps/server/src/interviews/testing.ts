/**
 * Test wiring for the interviews context: a migrated PGlite, encrypted local storage, the
 * in-process broker and the outbox mailer (the embedded adapters), a clock the test moves, and
 * factories that make data through the real services. The workers' e-mail job consumes the
 * `notification.email` queue, as the worker role would, so invitations reach the outbox.
 */
import { nextLinkTokens } from '../shared/testing/outbox.ts';
import type { TCreateQuestionBody, TQuestionRubric, TTokenPair } from '@parley/contracts';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MemoryBroker } from '../infra/broker/memory-broker.ts';
import type { BrokerMessage } from '../infra/broker/broker.ts';
import { INTERVIEW_EVENTS_TOPOLOGY } from '../infra/broker/topology.ts';
import type { Cache } from '../infra/cache/cache.ts';
import { MemoryCache } from '../infra/cache/memory-cache.ts';
import type { PgliteDatabase } from '../infra/db/pglite-database.ts';
import { organizations, users } from '../infra/db/schema.ts';
import { createTestDatabase } from '../infra/db/testing.ts';
import { createLogger } from '../infra/log.ts';
import { OutboxMailer } from '../infra/mail/outbox-mail.ts';
import { createLocalStorage, type LocalStorage } from '../infra/storage/local-storage.ts';
import type { CandidateActor, StaffActor } from '../shared/actor.ts';
import { AppError } from '../shared/app-error.ts';
import { startEmailJobs } from '../workers/index.ts';
import {
  createInterviewsModule,
  type AuditLog,
  type CandidateAccounts,
  type InterviewsModule,
  type MediaTokens,
} from './index.ts';

export const T0 = new Date('2026-12-01T09:00:00.000Z');

export class TestClock {
  private ms: number;
  constructor(start: Date = T0) {
    this.ms = start.getTime();
  }
  readonly now = (): Date => new Date(this.ms);
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

/**
 * The accounts port for tests: candidates are real `users` rows (sessions reference them);
 * tokens are opaque strings that resolve to the candidate actor they were issued for, as the
 * accounts context's authentication hook would do for a JWT. Media tokens likewise resolve to
 * the staff member and the one resource they were issued for. Audit rows are kept in `audited`.
 */
export class TestCandidateAccounts implements CandidateAccounts, MediaTokens, AuditLog {
  readonly actors = new Map<string, CandidateActor>();
  readonly audited: Parameters<AuditLog['audit']>[0][] = [];
  private readonly mediaTokens = new Map<string, { actor: StaffActor; resource: string }>();
  constructor(private readonly database: PgliteDatabase) {}

  async issueMediaToken(actor: StaffActor, resource: string, ttlSeconds: number) {
    const token = `media-${randomUUID()}`;
    this.mediaTokens.set(token, { actor, resource });
    return { token, expiresAt: new Date(T0.getTime() + ttlSeconds * 1000) };
  }

  async authenticateMedia(token: string, resource: string): Promise<StaffActor> {
    const issued = this.mediaTokens.get(token);
    if (!issued || issued.resource !== resource) throw new AppError('TOKEN_INVALID', 'Media token is not valid');
    return issued.actor;
  }

  async audit(entry: Parameters<AuditLog['audit']>[0]): Promise<void> {
    this.audited.push(entry);
  }

  async createCandidate(input: { orgId: string; email: string; name: string }): Promise<{ id: string }> {
    const [row] = await this.database.primary
      .insert(users)
      .values({ orgId: input.orgId, email: input.email, name: input.name, role: 'candidate' })
      .returning({ id: users.id });
    return row!;
  }

  async issueCandidateTokens(input: { orgId: string; userId: string; sessionId: string }): Promise<TTokenPair> {
    const accessToken = `test-${randomUUID()}`;
    this.actors.set(accessToken, { kind: 'candidate', ...input });
    return {
      accessToken,
      accessTokenExpiresAt: T0.toISOString(),
      refreshToken: randomUUID(),
      refreshTokenExpiresAt: T0.toISOString(),
    };
  }
}

export interface Harness {
  database: PgliteDatabase;
  storage: LocalStorage;
  broker: MemoryBroker;
  mail: OutboxMailer;
  /** The cache the module keeps `session:{id}` in and announces state changes on. */
  cache: Cache;
  clock: TestClock;
  accounts: TestCandidateAccounts;
  module: InterviewsModule;
  /** An organisation with one recruiter. */
  org(name?: string): Promise<{ orgId: string; recruiter: StaffActor }>;
  /**
   * Links mailed to `email` that this call has not returned before, oldest first; waits (bounded)
   * for at least one, since the e-mail job sends them after the request.
   */
  newTokens(email: string): Promise<string[]>;
  /** Messages routed to a broker queue so far (`notification.email` goes to the e-mail job instead). */
  published(queue: string): Promise<BrokerMessage[]>;
  close(): Promise<void>;
}

export async function createHarness(
  options: {
    orgEmotionPolicy?: 'off' | 'insights' | 'scored';
    /** A database shared with other "processes" of the test; closed by the caller, not the harness. */
    database?: PgliteDatabase;
    /** A cache client of this "process" (e.g. Redis); closed with the harness. In-memory otherwise. */
    cache?: Cache;
  } = {},
): Promise<Harness> {
  const database = options.database ?? (await createTestDatabase());
  const cache = options.cache ?? new MemoryCache();
  const dir = await mkdtemp(path.join(tmpdir(), 'parley-interviews-'));
  const storage = await createLocalStorage({ root: path.join(dir, 'objects'), masterKey: randomBytes(32) });
  const broker = new MemoryBroker({ topology: INTERVIEW_EVENTS_TOPOLOGY });
  const mail = new OutboxMailer({ dir: path.join(dir, 'outbox'), from: 'Parley <no-reply@parley.test>' });
  const clock = new TestClock();
  const accounts = new TestCandidateAccounts(database);
  const logger = createLogger({ level: 'silent' });
  const module = createInterviewsModule({
    database,
    storage,
    broker,
    cache,
    logger,
    accounts,
    clock: clock.now,
    config: { maxRecordingBytes: 64 * 1024 },
  });
  const seen = new Set<string>();
  const received = new Map<string, BrokerMessage[]>();
  const consumers = await Promise.all(
    INTERVIEW_EVENTS_TOPOLOGY.queues
      .filter((q) => q.name !== 'notification.email')
      .map((q) =>
        broker.consume(q.name, async (m) => {
          received.set(q.name, [...(received.get(q.name) ?? []), m]);
        }),
      ),
  );
  const emailJobs = await startEmailJobs({
    broker,
    database,
    mail,
    logger,
    publicUrl: 'https://parley.test',
    clock: clock.now,
  });

  return {
    database,
    storage,
    broker,
    mail,
    cache,
    clock,
    accounts,
    module,
    async org(name = 'Acme') {
      const [org] = await database.primary
        .insert(organizations)
        .values({ name, settings: { emotionPolicy: options.orgEmotionPolicy ?? 'scored' } })
        .returning({ id: organizations.id });
      const [user] = await database.primary
        .insert(users)
        .values({ orgId: org!.id, email: `recruiter-${randomUUID()}@example.test`, name: 'Rita', role: 'recruiter' })
        .returning({ id: users.id });
      return { orgId: org!.id, recruiter: { kind: 'staff', orgId: org!.id, userId: user!.id, role: 'recruiter' } };
    },
    newTokens: (email) => nextLinkTokens(mail.dir, email, seen),
    async published(queue) {
      // The in-process broker delivers on a later tick.
      await new Promise((resolve) => setTimeout(resolve, 20));
      return received.get(queue) ?? [];
    },
    async close() {
      await emailJobs.stop();
      for (const c of consumers) await c.close();
      await broker.close();
      await mail.close();
      await storage.close();
      await cache.close();
      if (!options.database) await database.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function rubric(overrides: Partial<TQuestionRubric> = {}): TQuestionRubric {
  return {
    criteria: [
      {
        key: 'clarity',
        name: 'Clarity',
        weight: 1,
        anchors: { '1': 'Hard to follow', '3': 'Mostly clear', '5': 'Crisp and structured' },
      },
    ],
    idealAnswer: 'A structured answer with an example.',
    keyConcepts: ['example'],
    ...overrides,
  };
}

export function questionBody(overrides: Partial<TCreateQuestionBody> = {}): TCreateQuestionBody {
  return {
    text: 'Tell us about a hard bug you fixed.',
    category: 'engineering',
    difficulty: 3,
    tags: ['debugging'],
    expectedSeconds: 90,
    rubric: rubric(),
    ...overrides,
  };
}

/**
 * A published interview of `n` scored questions (plus a practice question first when asked),
 * made through the services, with one invited candidate who has redeemed the link.
 */
export async function invitedSession(
  h: Harness,
  recruiter: StaffActor,
  options: { questions?: number; practice?: boolean; retakes?: number; deadline?: string | null; email?: string } = {},
): Promise<{ interviewId: string; sessionId: string; invitationId: string; candidate: CandidateActor; token: string }> {
  const n = options.questions ?? 2;
  const qs = [];
  for (let i = 0; i < n + (options.practice ? 1 : 0); i++) {
    qs.push(await h.module.questions.create(recruiter, questionBody({ text: `Question ${i + 1}` })));
  }
  const interview = await h.module.interviews.create(recruiter, {
    title: 'Backend engineer',
    description: '',
    settings: {
      language: 'en',
      deadline: options.deadline ?? null,
      emotionPolicy: 'insights',
      weights: { answers: 1, emotion: 0, behavioral: 0 },
    },
    questions: qs.map((q, i) => ({
      questionId: q.id,
      isPractice: options.practice === true && i === 0,
      prepSeconds: 30,
      answerSeconds: 60,
      retakesAllowed: options.retakes ?? 1,
    })),
  });
  await h.module.interviews.publish(recruiter, interview.id);
  const email = options.email ?? `cand-${randomUUID()}@example.test`;
  const [inv] = await h.module.invitations.invite(recruiter, interview.id, { candidates: [{ name: 'Cory', email }] });
  const [token] = await h.newTokens(email);
  const accepted = await h.module.invitations.accept({ token: token! });
  const candidate = h.accounts.actors.get(accepted.tokens.accessToken)!;
  return { interviewId: interview.id, sessionId: accepted.sessionId, invitationId: inv!.id, candidate, token: token! };
}

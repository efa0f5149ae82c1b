import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answers, emotionAnalysis, interviewSessions, processedMessages, scores } from '../infra/db/schema.ts';
import type { Broker } from '../infra/broker/broker.ts';
import { createLogger } from '../infra/log.ts';
import { startOpenAiApiServer, type OpenAiApiServer } from '../infra/transcriber/openai-api-server.testing.ts';
import { OpenAiTranscriber } from '../infra/transcriber/openai-transcriber.ts';
import type { Transcriber } from '../infra/transcriber/transcriber.ts';
import type { StaffActor } from '../shared/actor.ts';
// eslint-disable-next-line no-restricted-imports -- the interviews context's rubric factory
import { rubric } from '../interviews/testing.ts';
import type { AnalysisRequest, AnswerAnalyzer } from './answer-analyzer.ts';
import { OpenAiLlm } from './llm/openai-llm.ts';
import { LlmAnswerAnalyzer } from './llm-answer-analyzer.ts';
import { OFFLINE_SCORER_VERSION, OfflineAnswerAnalyzer } from './offline/offline-scorer.ts';
import { UseLiteEmbedder } from './offline/sentence-embedder.ts';
import { startScoringConsumer, type ScoringConsumer } from './scoring.consumer.ts';
import { anthropicToolUse, FakeLlmServer, openAiCompletion, openAiError } from './testing/fake-llm-server.ts';
import { AnthropicLlm } from './llm/anthropic-llm.ts';
import {
  completedSession,
  createScoringHarness,
  FAST_SCORING_QUEUE,
  type ScoringHarness,
} from './testing/scoring-harness.ts';

const offline = new OfflineAnswerAnalyzer(new UseLiteEmbedder());
let h: ScoringHarness;
let recruiter: StaffActor;

beforeAll(async () => {
  h = await createScoringHarness();
  ({ recruiter } = await h.org());
});
afterAll(() => h.close());

async function withConsumer<T>(
  options: { analyzer?: AnswerAnalyzer; transcriber?: Transcriber | null; broker?: Broker },
  run: () => Promise<T>,
): Promise<T> {
  const consumer: ScoringConsumer = await startScoringConsumer({
    database: h.database,
    broker: options.broker ?? h.broker,
    storage: h.storage,
    logger: createLogger({ level: 'silent' }),
    analyzer: options.analyzer ?? offline,
    transcriber: options.transcriber ?? null,
    interviews: h.module.sessions,
    queue: FAST_SCORING_QUEUE,
  });
  try {
    return await run();
  } finally {
    await consumer.close();
  }
}

const scoresOf = (sessionId: string) => h.database.primary.select().from(scores).where(eq(scores.sessionId, sessionId));
const statusOf = async (sessionId: string) =>
  (await h.database.primary.select().from(interviewSessions).where(eq(interviewSessions.id, sessionId)))[0]!.status;
const answersOf = (sessionId: string) =>
  h.database.primary.select().from(answers).where(eq(answers.sessionId, sessionId));

async function until(what: string, check: () => Promise<boolean>, tries = 400): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}

const THREADS = rubric({
  criteria: [
    {
      key: 'accuracy',
      name: 'Technical accuracy',
      weight: 2,
      anchors: {
        '1': 'Vague or wrong about processes and threads.',
        '3': 'Says threads live inside a process.',
        '5': 'Explains separate address spaces, shared memory and the need for synchronization.',
      },
    },
    {
      key: 'clarity',
      name: 'Clarity',
      weight: 1,
      anchors: { '0': 'Says nothing.', '1': 'Rambling.', '3': 'Understandable.', '5': 'Clear and concise.' },
    },
  ],
  idealAnswer: 'Processes have separate memory; threads share the memory of their process and need locks.',
  keyConcepts: ['shared memory', 'locks'],
});
const GOOD =
  'A process has its own address space. Threads run inside a process and share its memory, so they must synchronize with locks to avoid race conditions.';

describe('scoring a completed session (offline scorer, embedded adapters)', () => {
  let sessionId: string;
  let interviewId: string;

  beforeAll(async () => {
    ({ sessionId, interviewId } = await completedSession(h, recruiter, {
      questions: [
        { practice: true, answer: 'Warming up.' },
        { text: 'Process vs thread?', rubric: THREADS, answer: GOOD },
        // The question bank allows a rubric without an ideal answer.
        { text: 'Tell us about a bug.', rubric: rubric({ idealAnswer: '' }), answer: 'I found it with an example.' },
        { text: 'Left blank', rubric: THREADS },
      ],
    }));
    await withConsumer({}, () => h.scored(sessionId));
  });

  it('moves the session to scored and publishes interview.scored with the final score', async () => {
    expect(await statusOf(sessionId)).toBe('scored');
    const published = h.scoredMessages().filter((m) => (m.payload as { sessionId: string }).sessionId === sessionId);
    expect(published).toHaveLength(1);
    const session = (await scoresOf(sessionId)).find((s) => s.kind === 'session')!;
    expect(published[0]!.payload).toMatchObject({ sessionId, interviewId, overall: session.evidence.overall });
    expect(published[0]!.messageId).toBe(`interview.scored:${sessionId}`);
  });

  it('stores per-criterion and per-answer scores with provider, model, prompt and rubric version', async () => {
    const rows = await scoresOf(sessionId);
    const all = await answersOf(sessionId);
    const [, threads, bug, blank] = [...all].sort((a, b) => a.position - b.position);
    const criteria = rows.filter((r) => r.kind === 'criterion' && r.answerId === threads!.id);
    expect(criteria.map((c) => c.criterion).sort()).toEqual(['accuracy', 'clarity']);
    for (const c of criteria) {
      expect(c).toMatchObject({
        provider: 'offline',
        promptVersion: OFFLINE_SCORER_VERSION,
        questionVersionId: threads!.questionVersionId,
        rubricVersion: 1,
      });
      expect(c.model).toContain(OFFLINE_SCORER_VERSION);
      expect(c.evidence.rationale).toEqual(expect.any(String));
      for (const quote of c.evidence.quotes as string[]) expect(GOOD).toContain(quote);
    }
    const answer = rows.find((r) => r.kind === 'answer' && r.answerId === threads!.id)!;
    const [accuracy, clarity] = ['accuracy', 'clarity'].map((k) => criteria.find((c) => c.criterion === k)!.score);
    expect(answer.score).toBeCloseTo((2 * accuracy! + clarity!) / 3, 1);
    expect(answer.evidence).toMatchObject({ status: 'scored', transcriptSource: 'typed' });
    expect((answer.evidence.rubricVersion as string).endsWith('@1')).toBe(true);

    expect(rows.find((r) => r.kind === 'answer' && r.answerId === bug!.id)?.evidence.status).toBe('scored');
    const unanswered = rows.find((r) => r.kind === 'answer' && r.answerId === blank!.id)!;
    expect(unanswered).toMatchObject({ score: 0, provider: 'none', evidence: { status: 'not_answered' } });
  });

  it('never scores the practice answer', async () => {
    const practice = (await answersOf(sessionId)).find((a) => a.isPractice)!;
    expect((await scoresOf(sessionId)).filter((r) => r.answerId === practice.id)).toEqual([]);
  });

  it('makes the final score the mean over the scored questions, counting an unanswered one as 0', async () => {
    const rows = await scoresOf(sessionId);
    const perAnswer = rows.filter((r) => r.kind === 'answer').map((r) => r.score);
    expect(perAnswer).toHaveLength(3);
    const session = rows.find((r) => r.kind === 'session')!;
    const mean = Math.round((perAnswer.reduce((a, b) => a + b, 0) / 3) * 100) / 100;
    expect(session.score).toBeCloseTo(mean, 2);
    expect(session.evidence).toMatchObject({ parts: { answers: mean }, weights: { answers: 1, emotion: 0 } });
    // Emotion does not count under an `insights` policy: absent, not zero.
    expect(rows.some((r) => r.kind === 'emotion' || r.kind === 'behavioral')).toBe(false);
  });

  it('splits the final score into technical and communication by criterion, overall their weighted mean', async () => {
    const rows = await scoresOf(sessionId);
    const technical = rows.find((r) => r.kind === 'technical')!;
    const communication = rows.find((r) => r.kind === 'communication')!;
    const session = rows.find((r) => r.kind === 'session')!;
    const criteria = rows.filter((r) => r.kind === 'criterion');
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    // Technical: "accuracy" of the two THREADS questions (the blank one counts 0).
    expect(technical.score).toBeCloseTo(
      mean(criteria.filter((r) => r.criterion === 'accuracy').map((r) => r.score)),
      2,
    );
    // Communication: every "clarity" (both rubrics name it), by its share of its question's rubric
    // (1/3 under THREADS, all of the bug question's).
    const clarity = criteria
      .filter((r) => r.criterion === 'clarity')
      .map((r) => ({
        score: r.score,
        w: criteria.some((x) => x.answerId === r.answerId && x.criterion === 'accuracy') ? 1 / 3 : 1,
      }));
    expect(communication.score).toBeCloseTo(
      clarity.reduce((s, x) => s + x.score * x.w, 0) / clarity.reduce((s, x) => s + x.w, 0),
      2,
    );
    // Two THREADS questions put 2/3 of their weight on accuracy, the bug question none: τ = 4/9.
    const final = session.evidence.final as { weights: Record<string, number>; overall: number };
    expect(final.weights).toEqual({ technical: 0.4444, communication: 0.5556, emotion: 0 });
    expect(session.score).toBeCloseTo((4 * technical.score + 5 * communication.score) / 9, 1);
    expect(final.overall).toBe(session.score);
    expect(technical).toMatchObject({ provider: 'parley', promptVersion: 'final-scores/v1', answerId: null });
    expect(rows.some((r) => r.kind === 'emotion')).toBe(false);
  });

  it('scoring the same session again (a duplicate event, a redelivery) leaves one result', async () => {
    const before = await scoresOf(sessionId);
    const session = (await h.module.sessions.list(recruiter, { limit: 200, offset: 0 })).find(
      (s) => s.id === sessionId,
    );
    expect(session?.status).toBe('scored');
    const event = { orgId: recruiter.orgId, sessionId, interviewId, completedAt: new Date().toISOString() };
    await withConsumer({}, async () => {
      await h.broker.publish('interview.completed', event, { messageId: `interview.completed:${sessionId}` });
      await h.broker.publish('interview.completed', event, { messageId: 'another-id' });
      await until('both deliveries handled', async () => {
        const n = h.scoredMessages().filter((m) => (m.payload as { sessionId: string }).sessionId === sessionId);
        return n.length === 3;
      });
    });
    const after = await scoresOf(sessionId);
    expect(after.map((r) => [r.id, r.score]).sort()).toEqual(before.map((r) => [r.id, r.score]).sort());
    const ids = h.scoredMessages().filter((m) => (m.payload as { sessionId: string }).sessionId === sessionId);
    expect(new Set(ids.map((m) => m.messageId))).toEqual(new Set([`interview.scored:${sessionId}`]));
  });
});

describe('each hosted provider scores a completed session, through its SDK and a local protocol server', () => {
  const llm = new FakeLlmServer();
  let baseUrl = '';
  const value = {
    criteria: [{ criterion: 'Clarity', score: 4, evidence: [], rationale: 'Near anchor 5.' }],
    strengths: ['Structured'],
    gaps: [],
    followUpQuestion: 'What would you do differently?',
  };
  beforeAll(async () => {
    baseUrl = await llm.start();
  });
  afterAll(() => llm.stop());

  it.each([
    [
      'openai',
      () =>
        new OpenAiLlm({
          apiKey: 'sk-test',
          model: 'gpt-4o-mini',
          baseUrl: `${baseUrl}/v1`,
          timeoutMs: 5_000,
          maxRetries: 0,
        }),
      () => openAiCompletion(value),
    ],
    [
      'anthropic',
      () => new AnthropicLlm({ apiKey: 'sk-ant-test', model: 'claude-test', baseUrl, timeoutMs: 5_000, maxRetries: 0 }),
      () => anthropicToolUse('answer_analysis', value),
    ],
  ] as const)('%s', async (provider, client, reply) => {
    llm.script(reply());
    const { sessionId } = await completedSession(h, recruiter, {
      questions: [{ answer: 'An answer with an example.' }],
    });
    await withConsumer({ analyzer: new LlmAnswerAnalyzer(client()) }, () => h.scored(sessionId));
    expect(await statusOf(sessionId)).toBe('scored');
    const answer = (await scoresOf(sessionId)).find((r) => r.kind === 'answer');
    expect(answer).toMatchObject({ provider, promptVersion: 'answer-analysis/v1' });
  });
});

describe('failures', () => {
  const llm = new FakeLlmServer();
  let analyzer: AnswerAnalyzer;
  const valid = (evidence: string[] = []) =>
    openAiCompletion({
      criteria: [{ criterion: 'Clarity', score: 4, evidence, rationale: 'Near anchor 5.' }],
      strengths: ['Structured'],
      gaps: [],
      followUpQuestion: 'What would you do differently?',
    });

  beforeAll(async () => {
    const baseUrl = `${await llm.start()}/v1`;
    analyzer = new LlmAnswerAnalyzer(
      new OpenAiLlm({ apiKey: 'sk-test', model: 'gpt-4o-mini', baseUrl, timeoutMs: 5_000, maxRetries: 0 }),
    );
  });
  afterAll(() => llm.stop());

  it('a run that fails midway is retried from the queue and completes once, without re-judging finished answers', async () => {
    llm.script(valid(), openAiError(503), valid());
    const { sessionId } = await completedSession(h, recruiter, {
      questions: [{ answer: 'First answer, with an example.' }, { answer: 'Second answer.' }],
    });
    await withConsumer({ analyzer }, () => h.scored(sessionId));
    expect(llm.requests).toHaveLength(3);
    const rows = await scoresOf(sessionId);
    expect(rows.filter((r) => r.kind === 'answer')).toHaveLength(2);
    expect(rows.filter((r) => r.kind === 'criterion')).toHaveLength(2);
    expect(rows.filter((r) => r.kind === 'session')).toHaveLength(1);
    expect(rows.find((r) => r.kind === 'answer')).toMatchObject({
      provider: 'openai',
      model: 'gpt-4o-mini-2024-07-18',
      promptVersion: 'answer-analysis/v1',
    });
    expect(await statusOf(sessionId)).toBe('scored');
  });

  it('after the last attempt the message is dead-lettered and the session handed back to completed', async () => {
    llm.script(openAiError(503));
    const deadBefore = (await h.broker.stats()).find((q) => q.queue === 'scoring.process')!.deadLetters;
    const { sessionId } = await completedSession(h, recruiter, { questions: [{ answer: 'An answer.' }] });
    await withConsumer({ analyzer }, () =>
      until('the message is dead-lettered', async () => {
        const q = (await h.broker.stats()).find((s) => s.queue === 'scoring.process')!;
        return q.deadLetters === deadBefore + 1;
      }),
    );
    expect(llm.requests).toHaveLength(FAST_SCORING_QUEUE.maxAttempts);
    expect(await statusOf(sessionId)).toBe('completed');
    expect((await scoresOf(sessionId)).filter((r) => r.kind === 'session')).toEqual([]);
    expect(h.scoredMessages().some((m) => (m.payload as { sessionId: string }).sessionId === sessionId)).toBe(false);

    // Once the provider is back, the dead letter can be replayed and the session is scored.
    llm.script(valid());
    await withConsumer({ analyzer }, async () => {
      await h.broker.retryDead('scoring.process');
      await h.scored(sessionId);
    });
    expect(await statusOf(sessionId)).toBe('scored');
  });
});

describe('recorded answers', () => {
  let stt: OpenAiApiServer;
  let transcriber: OpenAiTranscriber;
  const WORDS = [
    { word: 'A', start: 0.5, end: 0.62 },
    { word: 'process', start: 0.62, end: 1.0 },
    { word: 'has', start: 1.0, end: 1.2 },
    { word: 'its', start: 1.2, end: 1.4 },
    { word: 'own', start: 1.4, end: 1.6 },
    { word: 'memory', start: 1.6, end: 2.0 },
    { word: 'threads', start: 4.5, end: 5.0 },
    { word: 'share', start: 5.0, end: 5.3 },
    { word: 'it', start: 5.3, end: 5.5 },
  ];
  const recording = { bytes: new Uint8Array([0x1a, 0x45, 0xdf, 0xa3, 1, 2, 3, 4]), contentType: 'audio/webm' };

  beforeAll(async () => {
    stt = await startOpenAiApiServer(() => ({
      status: 200,
      body: {
        task: 'transcribe',
        language: 'english',
        duration: 6,
        text: ' A process has its own memory, threads share it.',
        words: WORDS,
        segments: [
          {
            id: 0,
            start: 0.5,
            end: 5.5,
            text: ' A process has its own memory, threads share it.',
            avg_logprob: -0.1,
            no_speech_prob: 0.01,
          },
        ],
      },
    }));
    transcriber = new OpenAiTranscriber({ apiKey: 'sk-stt', baseUrl: stt.baseUrl, maxRetries: 0 });
  });
  afterAll(() => stt.close());

  it('transcribes a recording, keeps the transcript and word timings on the answer, and counts delivery when allowed', async () => {
    const { sessionId } = await completedSession(h, recruiter, {
      questions: [{ rubric: THREADS, recording }],
      emotionPolicy: 'scored',
      weights: { answers: 1, emotion: 0, behavioral: 1 },
    });
    await withConsumer({ transcriber }, () => h.scored(sessionId));
    const [answer] = await answersOf(sessionId);
    expect(answer!.transcript).toBe('A process has its own memory, threads share it.');
    expect(answer!.words).toHaveLength(WORDS.length);
    expect(answer!.words![1]).toMatchObject({ word: 'process', startMs: 620, endMs: 1000 });
    expect(answer!.transcriptSource).toMatch(/^openai:/);
    expect(stt.requests.at(-1)!.file?.bytes).toEqual(recording.bytes);

    const rows = await scoresOf(sessionId);
    const answerScore = rows.find((r) => r.kind === 'answer')!;
    const delivery = answerScore.evidence.delivery as { longPauses: number; score: number };
    expect(delivery.longPauses).toBe(1); // 2.0 s → 4.5 s
    const behavioral = rows.find((r) => r.kind === 'behavioral')!;
    expect(behavioral.score).toBe(delivery.score);
    const session = rows.find((r) => r.kind === 'session')!;
    expect(session.score).toBeCloseTo((answerScore.score + behavioral.score) / 2, 2);
    // Communication = clarity (weight 1 − 2/3) and delivery (weight 1).
    const clarity = rows.find((r) => r.kind === 'criterion' && r.criterion === 'clarity')!;
    const communication = rows.find((r) => r.kind === 'communication')!;
    expect(communication.score).toBeCloseTo((clarity.score / 3 + behavioral.score) / (4 / 3), 2);
    expect(communication.evidence.components).toMatchObject({ delivery: behavioral.score });
  });

  it('leaves delivery and emotion out entirely when the candidate declined video analysis', async () => {
    const { sessionId } = await completedSession(h, recruiter, {
      questions: [{ rubric: THREADS, recording }],
      emotionPolicy: 'scored',
      weights: { answers: 1, emotion: 1, behavioral: 1 },
      consents: { recording: true, videoAnalysis: false },
    });
    await withConsumer({ transcriber }, () => h.scored(sessionId));
    const rows = await scoresOf(sessionId);
    expect(rows.some((r) => r.kind === 'behavioral' || r.kind === 'emotion')).toBe(false);
    const session = rows.find((r) => r.kind === 'session')!;
    expect(session.score).toBe(rows.find((r) => r.kind === 'answer')!.score);
    // Communication is the clarity criterion alone: delivery needs the same consent as emotion.
    const clarity = rows.find((r) => r.kind === 'criterion' && r.criterion === 'clarity')!;
    expect(rows.find((r) => r.kind === 'communication')!.score).toBe(clarity.score);
    expect(session.evidence.final).not.toHaveProperty('emotion');
  });

  it('without speech-to-text, a recording is flagged for review and left out of the score', async () => {
    const { sessionId } = await completedSession(h, recruiter, {
      questions: [
        { rubric: THREADS, recording },
        { answer: GOOD, rubric: THREADS },
      ],
    });
    await withConsumer({ transcriber: null }, () => h.scored(sessionId));
    const rows = await scoresOf(sessionId);
    const flagged = rows.filter((r) => r.kind === 'answer' && r.evidence.status === 'untranscribed');
    expect(flagged).toHaveLength(1);
    const typed = rows.find((r) => r.kind === 'answer' && r.evidence.status === 'scored')!;
    const session = rows.find((r) => r.kind === 'session')!;
    expect(session.score).toBe(typed.score);
    expect(session.evidence.needsReview).toEqual([flagged[0]!.answerId]);
  });
});

describe('emotion score', () => {
  async function withFrames(sessionId: string, orgId: string) {
    const t0 = Date.parse('2026-12-01T09:00:00Z');
    await h.database.primary.insert(emotionAnalysis).values(
      Array.from({ length: 40 }, (_, i) => ({
        orgId,
        sessionId,
        frameSeq: i,
        frameTs: new Date(t0 + i * 1500),
        faceDetected: i < 36,
        emotion: i < 36 ? 'neutral' : null,
        blinkCount: i % 4 === 0 ? 1 : 0,
        metadata: { faceCount: i < 36 ? 1 : 0, face: i < 36 ? { gaze: { away: i >= 30 } } : null },
      })),
    );
  }

  it('counts under a `scored` policy with consent, from the emotion service frames', async () => {
    const { sessionId, candidate } = await completedSession(h, recruiter, {
      questions: [{ answer: GOOD, rubric: THREADS }],
      emotionPolicy: 'scored',
      weights: { answers: 3, emotion: 1, behavioral: 0 },
      complete: false,
    });
    await withFrames(sessionId, recruiter.orgId);
    await withConsumer({}, async () => {
      await h.module.sessions.complete(candidate, sessionId);
      await h.scored(sessionId);
    });
    const rows = await scoresOf(sessionId);
    const emotion = rows.find((r) => r.kind === 'emotion')!;
    // face 36/40 = .9, one person 1, attention 1 − 6/36, stability 1, blinks 10 in 58.5 s ≈ 10.3/min → 1
    expect(emotion.score).toBeCloseTo((5 * (0.9 + 1 + (1 - 0.17) + 1 + 1)) / 5, 1);
    const answer = rows.find((r) => r.kind === 'answer')!;
    expect(rows.find((r) => r.kind === 'session')!.score).toBeCloseTo((3 * answer.score + emotion.score) / 4, 1);
    expect(rows.find((r) => r.kind === 'session')!.evidence.final).toMatchObject({
      emotion: emotion.score,
      weights: { emotion: 1 },
    });
  });

  it('is absent under an `insights` policy even with frames and consent', async () => {
    const { sessionId, candidate } = await completedSession(h, recruiter, {
      questions: [{ answer: GOOD, rubric: THREADS }],
      emotionPolicy: 'insights',
      weights: { answers: 1, emotion: 1, behavioral: 0 },
      complete: false,
    });
    await withFrames(sessionId, recruiter.orgId);
    await withConsumer({}, async () => {
      await h.module.sessions.complete(candidate, sessionId);
      await h.scored(sessionId);
    });
    const rows = await scoresOf(sessionId);
    expect(rows.some((r) => r.kind === 'emotion')).toBe(false);
    expect(rows.find((r) => r.kind === 'session')!.score).toBe(rows.find((r) => r.kind === 'answer')!.score);
    expect(rows.find((r) => r.kind === 'session')!.evidence.final).toMatchObject({ weights: { emotion: 0 } });
    expect(rows.find((r) => r.kind === 'session')!.evidence.final).not.toHaveProperty('emotion');
    expect(
      await h.database.primary
        .select()
        .from(emotionAnalysis)
        .where(and(eq(emotionAnalysis.sessionId, sessionId))),
    ).toHaveLength(40);
  });
});

describe('a scoring process killed mid-way', () => {
  /** Scores normally until `haltAfter` answers, then hangs like a process that stopped, until `kill()`. */
  class HaltingAnalyzer implements AnswerAnalyzer {
    readonly provider = offline.provider;
    readonly model = offline.model;
    calls = 0;
    readonly halted: Promise<void>;
    #onHalt!: () => void;
    #kill!: (err: Error) => void;
    readonly #hang = new Promise<never>((_, reject) => (this.#kill = reject));

    constructor(private readonly haltAfter: number) {
      this.halted = new Promise((resolve) => (this.#onHalt = resolve));
    }

    analyze(request: AnalysisRequest) {
      if (++this.calls <= this.haltAfter) return offline.analyze(request);
      this.#onHalt();
      return this.#hang;
    }

    kill() {
      this.#kill(new Error('process killed'));
    }
  }

  class CountingAnalyzer implements AnswerAnalyzer {
    readonly provider = offline.provider;
    readonly model = offline.model;
    readonly transcripts: string[] = [];
    analyze(request: AnalysisRequest) {
      this.transcripts.push(request.transcript);
      return offline.analyze(request);
    }
  }

  it('is retried from the queue by another process and completes exactly once', async () => {
    const texts = ['First: threads share memory.', 'Second: locks.', 'Third: processes.', 'Fourth: scheduling.'];
    const { sessionId } = await completedSession(h, recruiter, {
      questions: texts.map((answer) => ({ answer, rubric: THREADS })),
    });

    // Process A takes the message, scores two answers, and dies with its broker connection.
    const connectionA = h.connect();
    const halting = new HaltingAnalyzer(2);
    const consumerA = await startScoringConsumer({
      database: h.database,
      broker: connectionA,
      storage: h.storage,
      logger: createLogger({ level: 'silent' }),
      analyzer: halting,
      transcriber: null,
      interviews: h.module.sessions,
      queue: FAST_SCORING_QUEUE,
    });
    await halting.halted;
    const midway = await scoresOf(sessionId);
    expect(midway.filter((r) => r.kind === 'answer')).toHaveLength(2);
    expect(midway.some((r) => r.kind === 'session')).toBe(false);
    expect(await statusOf(sessionId)).toBe('scoring');
    await connectionA.close();

    // Process B gets the message back from the queue and finishes the job.
    const counting = new CountingAnalyzer();
    await withConsumer({ analyzer: counting }, () => h.scored(sessionId));
    halting.kill();
    await consumerA.close();

    expect(counting.transcripts).toEqual(texts.slice(2));
    const rows = await scoresOf(sessionId);
    const [answerRows, criterionRows] = [
      rows.filter((r) => r.kind === 'answer'),
      rows.filter((r) => r.kind === 'criterion'),
    ];
    expect(answerRows).toHaveLength(4);
    expect(new Set(answerRows.map((r) => r.answerId)).size).toBe(4);
    expect(criterionRows).toHaveLength(8);
    for (const kind of ['session', 'technical', 'communication'] as const) {
      expect(rows.filter((r) => r.kind === kind)).toHaveLength(1);
    }
    expect(await statusOf(sessionId)).toBe('scored');
    const published = h.scoredMessages().filter((m) => (m.payload as { sessionId: string }).sessionId === sessionId);
    expect(published).toHaveLength(1);
    const processed = await h.database.primary
      .select()
      .from(processedMessages)
      .where(eq(processedMessages.messageId, `interview.completed:${sessionId}`));
    expect(processed).toHaveLength(1);
  });
});

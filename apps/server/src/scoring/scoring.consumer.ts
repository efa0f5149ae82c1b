import type { Histogram } from 'prom-client';
import {
  ZInterviewCompletedEvent,
  type TAnswerAnalysis,
  type TEmotionPolicy,
  type TInterviewScoredEvent,
  type TRubric,
} from '@parley/contracts';
import type { Broker, BrokerMessage, Consumer, QueueSpec } from '../infra/broker/broker.ts';
import { INTERVIEW_EVENTS_TOPOLOGY } from '../infra/broker/topology.ts';
import type { Database } from '../infra/db/database.ts';
import type { ScoreWeights } from '../infra/db/schema.ts';
import type { Logger } from '../infra/log.ts';
import type { Storage } from '../infra/storage/storage.ts';
import type { Transcriber } from '../infra/transcriber/index.ts';
import { isAppError } from '../shared/app-error.ts';
import type { AnswerAnalyzer } from './answer-analyzer.ts';
import { behavioralScore, BEHAVIORAL_SCORE_VERSION, deliveryFigures } from './pipeline/behavioral-score.ts';
import { emotionInsights, emotionScore, EMOTION_SCORE_VERSION } from './pipeline/emotion-insights.ts';
import { areaScores, finalScores, FINAL_SCORES_VERSION } from './pipeline/final-scores.ts';
import { answersScore, SESSION_SCORE_VERSION, type ScoreParts } from './pipeline/session-score.ts';
import { criterionKey, toScoringRubric } from './rubric-mapper.ts';
import { ScoringRepository, type QuestionItem, type ScoreInput, type ScoreRow } from './scoring.repository.ts';

export const SCORING_QUEUE = 'scoring.process';
export const SCORED_EVENT = 'interview.scored';
const NOT_ANSWERED = { provider: 'none', model: 'not-answered', promptVersion: 'not-answered/v1' } as const;

/** What scoring needs of the interviews context (`InterviewsModule['sessions']` fits). */
export interface ScoringSessions {
  advanceScoring(orgId: string, sessionId: string, to: 'scoring' | 'scored' | 'completed'): Promise<void>;
  videoAnalysis(orgId: string, sessionId: string): Promise<{ policy: TEmotionPolicy; consented: boolean }>;
}

/** The analyzer for an organisation: one fixed analyzer, or one built from that organisation's keys. */
export type AnalyzerSource = AnswerAnalyzer | ((orgId: string) => AnswerAnalyzer | Promise<AnswerAnalyzer>);

export interface ScoringConsumerDeps {
  database: Database;
  broker: Broker;
  storage: Storage;
  logger: Logger;
  analyzer: AnalyzerSource;
  /** Null when the server has no speech-to-text: recordings without a transcript are flagged for review. */
  transcriber: Transcriber | null;
  interviews: ScoringSessions;
  /** The queue's retry policy (from the topology by default); the last attempt hands the session back. */
  queue?: QueueSpec;
  prefetch?: number;
  /** The process's Prometheus series: time to analyse one answer, by provider and outcome. */
  metrics?: { scoringLatencySeconds: Histogram<'provider' | 'outcome'> };
}

export interface ScoringConsumer {
  /** Stops taking messages; a session being scored finishes first. */
  close(): Promise<void>;
}

/** Per-answer outcome as stored in the answer score's `evidence.status`. */
export type AnswerStatus = 'scored' | 'not_answered' | 'untranscribed';

/**
 * Consumes `scoring.process` (← `interview.completed`): moves the session to `scoring`, scores
 * every non-practice answer against its pinned rubric version, stores per-criterion, per-answer
 * and session scores with their provenance, moves the session to `scored` and publishes
 * `interview.scored`. A redelivery converges on the same rows (unique key + upsert) and skips
 * answers already scored; the last failed attempt hands the session back to `completed` and the
 * broker dead-letters the message.
 */
export async function startScoringConsumer(deps: ScoringConsumerDeps): Promise<ScoringConsumer> {
  const scorer = new SessionScorer(deps);
  const spec = deps.queue ?? INTERVIEW_EVENTS_TOPOLOGY.queues.find((q) => q.name === SCORING_QUEUE)!;
  const consumer: Consumer = await deps.broker.consume(spec.name, (m) => scorer.handle(m, spec.maxAttempts), {
    prefetch: deps.prefetch ?? 1,
  });
  return { close: () => consumer.close() };
}

export class SessionScorer {
  readonly #repo: ScoringRepository;

  constructor(private readonly deps: ScoringConsumerDeps) {
    this.#repo = new ScoringRepository(deps.database);
  }

  async handle(message: BrokerMessage, maxAttempts: number): Promise<void> {
    const event = ZInterviewCompletedEvent.parse(message.payload);
    const log = this.deps.logger.child({
      consumer: SCORING_QUEUE,
      messageId: message.messageId,
      sessionId: event.sessionId,
      attempt: message.attempt,
    });
    try {
      await this.score(event.orgId, event.sessionId, message.messageId, log);
    } catch (err) {
      if (message.attempt >= maxAttempts) {
        log.error({ err }, 'scoring failed for the last time: session handed back, message dead-lettered');
        await this.deps.interviews.advanceScoring(event.orgId, event.sessionId, 'completed').catch((e: unknown) => {
          log.warn({ err: e }, 'could not hand the session back to completed');
        });
      } else {
        log.warn({ err }, 'scoring failed; the broker will retry');
      }
      throw err;
    }
  }

  /** Scores one session; safe to run again for the same session at any point. */
  async score(orgId: string, sessionId: string, messageId: string, log: Logger): Promise<void> {
    const session = await this.#repo.findSession(orgId, sessionId);
    if (!session) {
      log.warn('session not found (deleted?): nothing to score');
      return;
    }
    if (session.status === 'scored') {
      await this.#publish(session, await this.#repo.listScores(orgId, sessionId));
      return;
    }
    if (session.status === 'completed') await this.deps.interviews.advanceScoring(orgId, sessionId, 'scoring');
    else if (session.status !== 'scoring') {
      log.warn({ status: session.status }, 'session is not completed: not scored');
      return;
    }

    if (!(await this.#repo.isProcessed(SCORING_QUEUE, messageId))) {
      const analyzer = typeof this.deps.analyzer === 'function' ? await this.deps.analyzer(orgId) : this.deps.analyzer;
      const items = (await this.#repo.questionItems(orgId, session)).filter((i) => !i.isPractice);
      const done = new Set(
        (await this.#repo.listScores(orgId, sessionId))
          .filter((s) => s.kind === 'answer' && s.evidence.status !== 'untranscribed')
          .map((s) => s.answerId),
      );
      for (const item of items) {
        if (!item.answer || done.has(item.answer.id)) continue;
        const rows = await this.#scoreAnswer(orgId, session.settings.language, item, analyzer, log);
        await this.#repo.saveScores(orgId, sessionId, rows);
      }
      await this.#finalise(orgId, session, items, messageId);
    }
    await this.deps.interviews.advanceScoring(orgId, sessionId, 'scored');
    const scored = await this.#repo.findSession(orgId, sessionId);
    await this.#publish(scored ?? session, await this.#repo.listScores(orgId, sessionId));
    log.info('session scored');
  }

  async #scoreAnswer(
    orgId: string,
    language: string | undefined,
    item: QuestionItem,
    analyzer: AnswerAnalyzer,
    log: Logger,
  ): Promise<ScoreInput[]> {
    const answer = item.answer!;
    const qv = item.questionVersion;
    const rubric = toScoringRubric(qv.rubric, `${qv.questionId}@${qv.version}`);
    const base = { answerId: answer.id, questionVersionId: qv.id, rubricVersion: qv.version };

    let transcript = answer.textAnswer ?? answer.transcript;
    let source = answer.textAnswer !== null ? 'typed' : answer.transcriptSource;
    let words = answer.textAnswer !== null ? [] : (answer.words ?? []);
    let untranscribed: string | undefined;
    if (transcript === null && answer.mediaKey) {
      const got = await this.#transcribe(orgId, answer.id, answer.mediaKey, language, rubric, log);
      if ('reason' in got) untranscribed = got.reason;
      else ({ text: transcript, source, words } = got);
    }

    if (untranscribed) {
      return [
        {
          ...base,
          ...NOT_ANSWERED,
          model: 'untranscribed',
          kind: 'answer',
          criterion: null,
          score: 0,
          maxScore: 5,
          evidence: { status: 'untranscribed' satisfies AnswerStatus, reason: untranscribed, position: item.position },
        },
      ];
    }
    if (!transcript?.trim()) return notAnsweredRows(item, rubric, base);

    const started = performance.now();
    let analysis: TAnswerAnalysis;
    try {
      analysis = await analyzer.analyze({ question: qv.text, rubric, transcript });
    } catch (error) {
      this.deps.metrics?.scoringLatencySeconds.observe(
        { provider: analyzer.provider, outcome: 'error' },
        (performance.now() - started) / 1000,
      );
      throw error;
    }
    this.deps.metrics?.scoringLatencySeconds.observe(
      { provider: analysis.provenance.provider, outcome: 'ok' },
      (performance.now() - started) / 1000,
    );
    const delivery = words.length ? deliveryFigures(words) : null;
    return analysisRows(item, rubric, analysis, base, {
      transcriptSource: source ?? 'unknown',
      delivery: delivery ? { ...delivery, score: behavioralScore(delivery) } : null,
    });
  }

  /** Transcribes a recording and stores the transcript on the answer; a recording that cannot be read is flagged, an engine outage is retried. */
  async #transcribe(
    orgId: string,
    answerId: string,
    mediaKey: string,
    language: string | undefined,
    rubric: TRubric,
    log: Logger,
  ): Promise<
    | { text: string; source: string; words: { word: string; startMs: number; endMs: number; confidence?: number }[] }
    | { reason: string }
  > {
    const transcriber = this.deps.transcriber;
    if (!transcriber) return { reason: 'This server has no speech-to-text engine; listen to the recording.' };
    const object = await this.deps.storage.get(mediaKey);
    try {
      const t = await transcriber.transcribe(
        { bytes: object.bytes, contentType: object.contentType },
        { language, keywords: rubric.keyConcepts },
      );
      await this.#repo.saveTranscript(orgId, answerId, {
        text: t.text,
        words: t.words,
        source: `${t.engine}:${t.model}`,
        durationMs: t.durationMs,
      });
      return { text: t.text, source: `${t.engine}:${t.model}`, words: t.words };
    } catch (err) {
      if (isAppError(err) && ['UNSUPPORTED_MEDIA_TYPE', 'PAYLOAD_TOO_LARGE', 'VALIDATION_FAILED'].includes(err.code)) {
        log.warn({ err, answerId }, 'recording could not be transcribed');
        return { reason: `The recording could not be transcribed: ${err.message}` };
      }
      throw err;
    }
  }

  async #finalise(
    orgId: string,
    session: { id: string; settings: { weights?: ScoreWeights } },
    items: QuestionItem[],
    messageId: string,
  ): Promise<void> {
    const stored = await this.#repo.listScores(orgId, session.id);
    const answerRows = stored.filter((s) => s.kind === 'answer');
    const counted = answerRows.filter((s) => s.evidence.status !== 'untranscribed');
    const weights = session.settings.weights ?? {};
    const { policy, consented } = await this.deps.interviews.videoAnalysis(orgId, session.id);
    const counts = policy === 'scored' && consented;

    const parts: ScoreParts = { answers: answersScore(counted.map(effective)) };
    const rows: ScoreInput[] = [];
    const sessionLevel = { answerId: null, criterion: null, maxScore: 5, questionVersionId: null, rubricVersion: null };
    if (counts) {
      const insights = emotionInsights(await this.#repo.emotionFrames(orgId, session.id));
      parts.emotion = emotionScore(insights);
      if (parts.emotion !== undefined && insights) {
        const { timeline: _timeline, integrityEvents: _events, ...figures } = insights;
        rows.push({
          ...sessionLevel,
          kind: 'emotion',
          score: parts.emotion,
          evidence: { figures },
          provider: 'parley',
          model: EMOTION_SCORE_VERSION,
          promptVersion: EMOTION_SCORE_VERSION,
        });
      }
      const delivered = answerRows.flatMap((s) => {
        const d = s.evidence.delivery as { score?: number } | null | undefined;
        return typeof d?.score === 'number' ? [d.score] : [];
      });
      if (delivered.length) {
        parts.behavioral = answersScore(delivered);
        rows.push({
          ...sessionLevel,
          kind: 'behavioral',
          score: parts.behavioral!,
          evidence: { answers: delivered.length },
          provider: 'parley',
          model: BEHAVIORAL_SCORE_VERSION,
          promptVersion: BEHAVIORAL_SCORE_VERSION,
        });
      }
    }
    const final = finalScores({
      criteria: areaScores(stored, new Set(counted.map((s) => s.answerId!))),
      delivery: parts.behavioral,
      emotion: parts.emotion,
      weights,
    });
    for (const kind of ['technical', 'communication'] as const) {
      const score = final[kind];
      if (score === undefined) continue;
      rows.push({
        ...sessionLevel,
        kind,
        score,
        evidence: { weight: final.weights[kind], components: final.components },
        provider: 'parley',
        model: FINAL_SCORES_VERSION,
        promptVersion: FINAL_SCORES_VERSION,
      });
    }
    const overall = final.overall;
    const providers = [...new Set(counted.map((s) => `${s.provider}:${s.model}`))];
    rows.push({
      ...sessionLevel,
      kind: 'session',
      score: overall ?? 0,
      evidence: {
        overall,
        parts,
        final,
        weights: { answers: weights.answers ?? 1, emotion: weights.emotion ?? 0, behavioral: weights.behavioral ?? 0 },
        emotionPolicy: policy,
        videoAnalysisConsent: consented,
        questions: items.length,
        needsReview: answerRows.filter((s) => s.evidence.status === 'untranscribed').map((s) => s.answerId),
      },
      provider: 'parley',
      model: providers.join(',') || 'none',
      promptVersion: SESSION_SCORE_VERSION,
    });
    // Consent, policy or overrides may have changed since an earlier run: what does not count is absent.
    for (const kind of ['emotion', 'behavioral', 'technical', 'communication'] as const) {
      if (!rows.some((r) => r.kind === kind)) await this.#repo.deleteSessionScore(orgId, session.id, kind);
    }
    await this.#repo.saveScores(orgId, session.id, rows, { consumer: SCORING_QUEUE, messageId });
  }

  async #publish(
    session: { id: string; orgId: string; interviewId: string; scoredAt: Date | null },
    stored: ScoreRow[],
  ) {
    const overall = stored.find((s) => s.kind === 'session' && s.criterion === null);
    const event: TInterviewScoredEvent = {
      orgId: session.orgId,
      sessionId: session.id,
      interviewId: session.interviewId,
      overall: (overall?.evidence.overall as number | null | undefined) ?? null,
      scoredAt: (session.scoredAt ?? new Date()).toISOString(),
    };
    // One message id per session: the notification consumer deduplicates a re-publish.
    await this.deps.broker.publish(SCORED_EVENT, event, { messageId: `${SCORED_EVENT}:${session.id}` });
  }
}

/** A stored score as it counts now: the recruiter's override when there is one. */
export const effective = (s: Pick<ScoreRow, 'score' | 'overrideScore'>): number => s.overrideScore ?? s.score;

type Base = Pick<ScoreInput, 'answerId' | 'questionVersionId' | 'rubricVersion'>;

function notAnsweredRows(item: QuestionItem, rubric: TRubric, base: Base): ScoreInput[] {
  return [
    {
      ...base,
      ...NOT_ANSWERED,
      kind: 'answer',
      criterion: null,
      score: 0,
      maxScore: 5,
      evidence: {
        status: 'not_answered' satisfies AnswerStatus,
        position: item.position,
        strengths: [],
        gaps: ['Not answered'],
      },
    },
    ...rubric.criteria.map((c) => ({
      ...base,
      ...NOT_ANSWERED,
      kind: 'criterion' as const,
      criterion: criterionKey(c),
      score: 0,
      maxScore: 5,
      evidence: { name: c.name, weight: c.weight, quotes: [], rationale: 'Not answered.' },
    })),
  ];
}

function analysisRows(
  item: QuestionItem,
  rubric: TRubric,
  a: TAnswerAnalysis,
  base: Base,
  extra: { transcriptSource: string; delivery: Record<string, unknown> | null },
): ScoreInput[] {
  const by = { provider: a.provenance.provider, model: a.provenance.model, promptVersion: a.provenance.promptVersion };
  const byName = new Map(a.criteria.map((c) => [c.criterion, c]));
  return [
    {
      ...base,
      ...by,
      kind: 'answer',
      criterion: null,
      score: a.overall,
      maxScore: 5,
      evidence: {
        status: 'scored' satisfies AnswerStatus,
        position: item.position,
        strengths: a.strengths,
        gaps: a.gaps,
        followUpQuestion: a.followUpQuestion,
        rubricVersion: a.provenance.rubricVersion,
        transcriptSource: extra.transcriptSource,
        delivery: extra.delivery,
      },
    },
    ...rubric.criteria.map((c) => {
      const got = byName.get(c.name)!;
      return {
        ...base,
        ...by,
        kind: 'criterion' as const,
        criterion: criterionKey(c),
        score: got.score,
        maxScore: 5,
        evidence: { name: c.name, weight: c.weight, quotes: got.evidence, rationale: got.rationale },
      };
    }),
  ];
}

import type { TOverrideScoreBody, TSessionReport } from '@parley/contracts';
import { requireStaff, type Actor } from '../../shared/actor.ts';
import { AppError } from '../../shared/app-error.ts';
import type { Audit } from '../keys/api-keys.service.ts';
import { BEHAVIORAL_SCORE_VERSION, LONG_PAUSE_MS } from '../pipeline/behavioral-score.ts';
import { EMOTION_SCORE_VERSION, emotionInsights, MIN_FRAMES_FOR_SCORE } from '../pipeline/emotion-insights.ts';
import {
  answersScore,
  finalScore,
  SESSION_SCORE_VERSION,
  weightedMean,
  type ScoreParts,
} from '../pipeline/session-score.ts';
import { criterionKey, toScoringRubric } from '../rubric-mapper.ts';
import type { ScoringSessions } from '../scoring.consumer.ts';
import type { ScoreRow, ScoringRepository } from '../scoring.repository.ts';

/** The formulas, as printed in the report's appendix. */
export const FORMULAS: Record<string, string> = {
  criterion:
    'Each rubric criterion is judged 0–5 against its anchors by the recorded provider and model, with quotes from the transcript as evidence.',
  answer: 'Answer score = weighted mean of its criterion scores by the rubric weights (overrides applied).',
  answers:
    'Answers part = mean of the answer scores of the scored questions; a question not answered counts as 0; a recording that could not be transcribed is left out and flagged.',
  emotion: `${EMOTION_SCORE_VERSION}: 5 × mean of face present, one person only, attention (1 − looking away), expression stability, and blink rate within 8–30/min. Needs ${MIN_FRAMES_FOR_SCORE} frames. Counts only under a "scored" policy with consent.`,
  behavioral: `${BEHAVIORAL_SCORE_VERSION}: per recorded answer, 5 × mean of pace (1 within 110–170 words/min, 0 at 60 and 240), pauses (1 − long pauses ≥ ${LONG_PAUSE_MS / 1000} s per minute / 6) and fillers (1 − 10 × filler share); mean over answers. Counts only under a "scored" policy with consent.`,
  overall: `${SESSION_SCORE_VERSION}: weighted mean of the parts present with the interview's weights; an absent part is left out, never counted as 0.`,
};

/** The recruiter's report of one session, and overrides of its scores. Staff of the organisation only. */
export class ReportService {
  constructor(
    private readonly repo: ScoringRepository,
    private readonly sessions: Pick<ScoringSessions, 'videoAnalysis'>,
    private readonly audit: Audit,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async report(actor: Actor, sessionId: string): Promise<TSessionReport> {
    requireStaff(actor);
    const header = await this.repo.sessionHeader(actor.orgId, sessionId);
    if (!header) throw new AppError('NOT_FOUND', 'Session not found');
    const { session } = header;
    const orgId = actor.orgId;
    const items = (await this.repo.questionItems(orgId, session)).filter((i) => !i.isPractice);
    const rows = await this.repo.listScores(orgId, sessionId);

    const questions: TSessionReport['questions'] = items.map((item) => {
      const rubric = toScoringRubric(
        item.questionVersion.rubric,
        `${item.questionVersion.questionId}@${item.questionVersion.version}`,
      );
      const a = item.answer;
      const answerRow = a ? rows.find((r) => r.kind === 'answer' && r.answerId === a.id) : undefined;
      const ev = answerRow?.evidence ?? {};
      const criteria = rubric.criteria.flatMap((c) => {
        const row =
          a && rows.find((r) => r.kind === 'criterion' && r.answerId === a.id && r.criterion === criterionKey(c));
        if (!row) return [];
        return [
          {
            scoreId: row.id,
            key: criterionKey(c),
            name: c.name,
            weight: c.weight,
            score: row.score,
            effectiveScore: row.overrideScore ?? row.score,
            evidence: (row.evidence.quotes as string[] | undefined) ?? [],
            rationale: (row.evidence.rationale as string | undefined) ?? '',
            override: overrideOf(row),
          },
        ];
      });
      const status = (ev.status as TSessionReport['questions'][number]['status'] | undefined) ?? 'pending';
      const overridden = criteria.some((c) => c.override);
      const effectiveScore =
        answerRow && status !== 'untranscribed'
          ? overridden
            ? weightedMean(criteria.map((c) => ({ score: c.effectiveScore, weight: c.weight })))
            : answerRow.score
          : null;
      return {
        position: item.position,
        question: item.questionVersion.text,
        status,
        note:
          status === 'untranscribed'
            ? ((ev.reason as string | undefined) ?? 'Listen to the recording.')
            : status === 'not_answered'
              ? 'Not answered.'
              : null,
        transcript: a?.textAnswer ?? a?.transcript ?? null,
        transcriptSource:
          (ev.transcriptSource as string | undefined) ?? (a?.textAnswer ? 'typed' : (a?.transcriptSource ?? null)),
        score: answerRow && status !== 'untranscribed' ? answerRow.score : null,
        effectiveScore,
        criteria,
        strengths: (ev.strengths as string[] | undefined) ?? [],
        gaps: (ev.gaps as string[] | undefined) ?? [],
        followUpQuestion: (ev.followUpQuestion as string | undefined) ?? null,
        delivery: (ev.delivery as Record<string, unknown> | null | undefined) ?? null,
        provenance:
          answerRow && status === 'scored'
            ? {
                provider: answerRow.provider,
                model: answerRow.model,
                promptVersion: answerRow.promptVersion,
                rubricVersion: (ev.rubricVersion as string | undefined) ?? String(answerRow.rubricVersion),
                questionVersionId: answerRow.questionVersionId,
              }
            : null,
      };
    });

    const sessionRow = rows.find((r) => r.kind === 'session');
    const sev = sessionRow?.evidence ?? {};
    const weights = (sev.weights as TSessionReport['weights'] | undefined) ?? {
      answers: session.settings.weights?.answers ?? 1,
      emotion: session.settings.weights?.emotion ?? 0,
      behavioral: session.settings.weights?.behavioral ?? 0,
    };
    const parts = (sev.parts as ScoreParts | undefined) ?? {};
    const counted = questions.filter((q) => q.effectiveScore !== null).map((q) => q.effectiveScore!);
    const effectiveParts: ScoreParts = { ...parts, answers: answersScore(counted) };
    const { policy, consented } = await this.sessions.videoAnalysis(orgId, sessionId);
    const insights =
      policy !== 'off' && consented ? emotionInsights(await this.repo.emotionFrames(orgId, sessionId)) : null;

    return {
      sessionId,
      interviewId: session.interviewId,
      interviewTitle: header.interviewTitle,
      candidate: { id: session.candidateId, name: header.candidateName, email: header.candidateEmail },
      status: session.status,
      completedAt: session.completedAt?.toISOString() ?? null,
      scoredAt: session.scoredAt?.toISOString() ?? null,
      overall: sessionRow ? ((sev.overall as number | null | undefined) ?? null) : null,
      effectiveOverall: sessionRow ? finalScore(effectiveParts, weights) : null,
      parts: effectiveParts,
      weights,
      emotionPolicy: policy,
      questions,
      strengths: unique(questions.flatMap((q) => q.strengths)).slice(0, 8),
      gaps: unique(questions.flatMap((q) => q.gaps)).slice(0, 8),
      emotion: insights ? { countsTowardScore: policy === 'scored' && consented, ...insights } : null,
      provenance: uniqueBy(
        rows
          .filter((r) => r.kind === 'answer' && r.evidence.status === 'scored')
          .map((r) => ({ provider: r.provider, model: r.model, promptVersion: r.promptVersion })),
      ),
      formulas: FORMULAS,
    };
  }

  /** Overrides one criterion score with a reason; the original, the override and its author are kept and audited. */
  async override(actor: Actor, sessionId: string, scoreId: string, body: TOverrideScoreBody): Promise<TSessionReport> {
    requireStaff(actor);
    const rows = await this.repo.listScores(actor.orgId, sessionId);
    const row = rows.find((r) => r.id === scoreId);
    if (!row) throw new AppError('NOT_FOUND', 'Score not found');
    if (row.kind !== 'criterion') throw new AppError('CONFLICT', 'Only criterion scores can be overridden');
    const updated = await this.repo.override(actor.orgId, sessionId, scoreId, {
      score: body.score,
      reason: body.reason,
      by: actor.userId,
      at: this.clock(),
    });
    if (!updated) throw new AppError('NOT_FOUND', 'Score not found');
    await this.audit({
      orgId: actor.orgId,
      actorId: actor.userId,
      action: 'score.overridden',
      targetType: 'score',
      targetId: scoreId,
      ip: actor.ip,
      metadata: {
        sessionId,
        criterion: row.criterion,
        original: row.score,
        previousOverride: row.overrideScore,
        override: body.score,
        reason: body.reason,
      },
    });
    return this.report(actor, sessionId);
  }
}

function overrideOf(row: ScoreRow): TSessionReport['questions'][number]['criteria'][number]['override'] {
  if (row.overrideScore === null || !row.overriddenAt) return null;
  return {
    score: row.overrideScore,
    reason: row.overrideReason ?? '',
    by: row.overriddenBy,
    at: row.overriddenAt.toISOString(),
  };
}

const unique = (xs: string[]) => [...new Set(xs)];

function uniqueBy<T extends Record<string, string>>(xs: T[]): T[] {
  const seen = new Map<string, T>();
  for (const x of xs) seen.set(JSON.stringify(x), x);
  return [...seen.values()];
}

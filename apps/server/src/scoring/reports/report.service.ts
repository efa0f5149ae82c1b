import { createHash } from 'node:crypto';
import type { TCandidateFeedback, TOverrideScoreBody, TSessionReport } from '@parley/contracts';
import type { Storage } from '../../infra/storage/storage.ts';
import { requireSessionAccess, requireStaff, type Actor } from '../../shared/actor.ts';
import { AppError } from '../../shared/app-error.ts';
import type { Audit } from '../keys/api-keys.service.ts';
import { BEHAVIORAL_SCORE_VERSION, LONG_PAUSE_MS } from '../pipeline/behavioral-score.ts';
import { EMOTION_SCORE_VERSION, emotionInsights, MIN_FRAMES_FOR_SCORE } from '../pipeline/emotion-insights.ts';
import {
  areaScores,
  COMMUNICATION_WORDS,
  criterionArea,
  FINAL_SCORES_VERSION,
  finalScores,
} from '../pipeline/final-scores.ts';
import { answersScore, SESSION_SCORE_VERSION, weightedMean, type ScoreParts } from '../pipeline/session-score.ts';
import { criterionKey, toScoringRubric } from '../rubric-mapper.ts';
import type { ScoringSessions } from '../scoring.consumer.ts';
import type { ScoreRow, ScoringRepository } from '../scoring.repository.ts';
import { renderReportHtml } from './render-report-html.ts';
import type { PdfRenderer } from './render-report-pdf.ts';

/** The formulas, as printed in the report's appendix. */
export const FORMULAS: Record<string, string> = {
  criterion:
    'Each rubric criterion is judged 0–5 against its anchors by the recorded provider and model, with quotes from the transcript as evidence.',
  answer: 'Answer score = weighted mean of its criterion scores by the rubric weights (overrides applied).',
  answers:
    'Answers part = mean of the answer scores of the scored questions; a question not answered counts as 0; a recording that could not be transcribed is left out and flagged.',
  emotion: `${EMOTION_SCORE_VERSION}: 5 × mean of face present, one person only, attention (1 − looking away), expression stability, and blink rate within 8–30/min. Needs ${MIN_FRAMES_FOR_SCORE} frames. Counts only under a "scored" policy with consent.`,
  behavioral: `${BEHAVIORAL_SCORE_VERSION}: per recorded answer, 5 × mean of pace (1 within 110–170 words/min, 0 at 60 and 240), pauses (1 − long pauses ≥ ${LONG_PAUSE_MS / 1000} s per minute / 6) and fillers (1 − 10 × filler share); mean over answers. Counts only under a "scored" policy with consent.`,
  areas: `A criterion is "communication" when its key or name contains one of these words: ${COMMUNICATION_WORDS.join(', ')} ("data structure" excepted); every other criterion is "technical". Each question counts equally: its criterion weights are normalised to sum to 1.`,
  technical: `${FINAL_SCORES_VERSION}: technical = weighted mean of the technical criterion scores over the counted questions (a question not answered counts as 0). τ = share of the rubrics' normalised weight on technical criteria.`,
  communication: `${FINAL_SCORES_VERSION}: communication = weighted mean of K = the communication criterion scores (weight a·(1 − τ)) and D = the behavioural delivery score (weight b); absent when neither exists. D counts only under a "scored" policy with consent.`,
  overall: `${SESSION_SCORE_VERSION}: overall = (a·τ·technical + (a·(1 − τ) + b)·communication + e·emotion) / (sum of the weights of the parts present), with the interview's weights a = answers, b = behavioral, e = emotion. This equals the weighted mean of the answer scores, delivery and emotion; an absent part is left out, never counted as 0.`,
};

export interface ReportServiceDeps {
  repo: ScoringRepository;
  sessions: Pick<ScoringSessions, 'videoAnalysis'>;
  audit: Audit;
  /** Where printed PDFs are cached, under the session's prefix. */
  storage: Storage;
  /** Prints the report's HTML; `renderReportPdf` in production. */
  renderPdf: PdfRenderer;
  clock?: () => Date;
}

/**
 * The recruiter's report of one session (JSON, HTML, PDF), overrides of its scores, and the
 * candidate's feedback. Staff of the organisation only, except released feedback.
 */
export class ReportService {
  private readonly repo: ScoringRepository;
  private readonly clock: () => Date;

  constructor(private readonly deps: ReportServiceDeps) {
    this.repo = deps.repo;
    this.clock = deps.clock ?? (() => new Date());
  }

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
            area: criterionArea(c),
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

    const sessionRow = rows.find((r) => r.kind === 'session' && r.criterion === null);
    const sev = sessionRow?.evidence ?? {};
    const weights = (sev.weights as TSessionReport['weights'] | undefined) ?? {
      answers: session.settings.weights?.answers ?? 1,
      emotion: session.settings.weights?.emotion ?? 0,
      behavioral: session.settings.weights?.behavioral ?? 0,
    };
    const parts = (sev.parts as ScoreParts | undefined) ?? {};
    const counted = questions.filter((q) => q.effectiveScore !== null).map((q) => q.effectiveScore!);
    const effectiveParts: ScoreParts = { ...parts, answers: answersScore(counted) };
    const countedIds = new Set(
      rows.filter((r) => r.kind === 'answer' && r.evidence.status !== 'untranscribed').map((r) => r.answerId!),
    );
    const final = sessionRow
      ? finalScores({
          criteria: areaScores(rows, countedIds),
          delivery: effectiveParts.behavioral,
          emotion: effectiveParts.emotion,
          weights,
        })
      : null;
    const { policy, consented } = await this.deps.sessions.videoAnalysis(orgId, sessionId);
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
      effectiveOverall: final?.overall ?? null,
      parts: effectiveParts,
      weights,
      final,
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
    await this.deps.audit({
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

  /**
   * The report as PDF. Printing takes seconds, so the result is cached in object storage under the
   * session (`orgs/…/sessions/…/reports/report-<hash of the HTML>.pdf`, pointed at by the session's
   * `pdf` row in `reports`): an override changes the HTML and prints anew, an unchanged report is
   * served from storage, and the superseded file is deleted.
   */
  async pdf(actor: Actor, sessionId: string): Promise<Buffer> {
    requireStaff(actor);
    const html = renderReportHtml(await this.report(actor, sessionId));
    const hash = createHash('sha256').update(html).digest('hex').slice(0, 32);
    const key = `orgs/${actor.orgId}/sessions/${sessionId}/reports/report-${hash}.pdf`;
    const row = await this.repo.findReport(actor.orgId, sessionId, 'pdf');
    if (row?.storageKey === key && (await this.deps.storage.exists(key))) {
      return Buffer.from((await this.deps.storage.get(key)).bytes);
    }
    const pdf = await this.deps.renderPdf(html);
    await this.deps.storage.put(key, pdf, 'application/pdf');
    await this.repo.savePdf(actor.orgId, sessionId, key);
    if (row?.storageKey && row.storageKey !== key) await this.deps.storage.delete(row.storageKey);
    return pdf;
  }

  /** Lets the candidate read their feedback. Idempotent; the first release is audited. */
  async releaseFeedback(actor: Actor, sessionId: string): Promise<TCandidateFeedback> {
    requireStaff(actor);
    const header = await this.repo.sessionHeader(actor.orgId, sessionId);
    if (!header) throw new AppError('NOT_FOUND', 'Session not found');
    if (header.session.status !== 'scored') {
      throw new AppError('CONFLICT', 'Feedback can be released once the session is scored', {
        reason: 'not_scored',
        status: header.session.status,
      });
    }
    if (await this.repo.releaseFeedback(actor.orgId, sessionId)) {
      await this.deps.audit({
        orgId: actor.orgId,
        actorId: actor.userId,
        action: 'feedback.released',
        targetType: 'session',
        targetId: sessionId,
        ip: actor.ip,
        metadata: { candidateId: header.session.candidateId },
      });
    }
    return this.feedback(actor, sessionId);
  }

  /**
   * The candidate's feedback: strengths and areas to grow from the analyses, never a score. Staff
   * of the organisation may read it at any time; the session's candidate once it is released.
   */
  async feedback(actor: Actor, sessionId: string): Promise<TCandidateFeedback> {
    if (actor.kind === 'anonymous') throw new AppError('UNAUTHENTICATED', 'Sign in first');
    const header = await this.repo.sessionHeader(actor.orgId, sessionId);
    if (!header) throw new AppError('NOT_FOUND', 'Session not found');
    requireSessionAccess(actor, header.session);
    const release = await this.repo.findReport(actor.orgId, sessionId, 'feedback');
    if (!release && actor.kind === 'candidate') {
      throw new AppError('CONFLICT', 'Your feedback has not been released yet', { reason: 'feedback_not_released' });
    }
    const items = (await this.repo.questionItems(actor.orgId, header.session)).filter((i) => !i.isPractice);
    const rows = await this.repo.listScores(actor.orgId, sessionId);
    const questions = items.map((item) => {
      const row = item.answer && rows.find((r) => r.kind === 'answer' && r.answerId === item.answer!.id);
      const status = row?.evidence.status;
      return {
        position: item.position,
        question: item.questionVersion.text,
        status,
        notAnswered: status === 'not_answered' || !item.answer,
        strengths: status === 'scored' ? candidateSafe(row?.evidence.strengths) : [],
        areasToGrow:
          status === 'scored'
            ? candidateSafe(row?.evidence.gaps)
            : status === 'not_answered' || !item.answer
              ? [NOT_ANSWERED]
              : [],
      };
    });
    const unanswered = questions.filter((q) => q.notAnswered).length;
    return {
      sessionId,
      interviewTitle: header.interviewTitle,
      releasedAt: release?.createdAt.toISOString() ?? null,
      strengths: unique(questions.flatMap((q) => q.strengths)).slice(0, 6),
      areasToGrow: [
        ...unique(questions.flatMap((q) => (q.status === 'scored' ? q.areasToGrow : []))).slice(0, 6),
        ...(unanswered ? [`${unanswered} of ${questions.length} questions were not answered.`] : []),
      ],
      questions: questions.map(({ status: _status, notAnswered: _n, ...q }) => q),
    };
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

const NOT_ANSWERED = 'This question was not answered.';

// A hosted model's free text could still quote a number as a score ("4/5", "score 3"): leave those out.
const SCORE_LIKE = /\b\d+(\.\d+)?\s*(\/|out of)\s*\d+\b|\bscor(e|ed|ing)\b|\brat(ed|ing)\b/i;

function candidateSafe(xs: unknown): string[] {
  return Array.isArray(xs) ? xs.filter((x): x is string => typeof x === 'string' && !SCORE_LIKE.test(x)) : [];
}

import { createHash } from 'node:crypto';
import type {
  TCandidateFeedback,
  TOverrideScoreBody,
  TReportRendering,
  TReportRenderRequestedEvent,
  TSessionReport,
} from '@parley/contracts';
import type { Broker } from '../../infra/broker/broker.ts';
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

/** Routing key under which a report's rendering is requested; the workers' `report.rendering` queue takes it. */
export const REPORT_RENDER_REQUESTED = 'report.render.requested';

/** How long a client waits before asking for a PDF being printed again (`Retry-After`). */
export const RENDER_RETRY_AFTER_SECONDS = 2;
/** A request for a PDF still not printed after this long is published again (printing takes seconds). */
export const RENDER_REQUEST_AGAIN_AFTER_MS = 2 * 60_000;
/** After a failed print (the job's last attempt), the PDF is refused this long, then requested again. */
export const RENDER_FAILED_COOLDOWN_MS = 5 * 60_000;

/** What `GET …/report.pdf` gets: the stored PDF of the current report, or word that it is being printed. */
export type PdfAnswer = { status: 'ready'; pdf: Buffer } | TReportRendering;

/** What one run of the report job did. */
export type RenderOutcome = 'printed' | 'current' | 'gone';

export interface ReportServiceDeps {
  repo: ScoringRepository;
  sessions: Pick<ScoringSessions, 'videoAnalysis'>;
  audit: Audit;
  /** Where printed reports (HTML and PDF) are kept, under the session's prefix. */
  storage: Storage;
  /** Where requests to print a report are published (`report.render.requested`). */
  broker: Pick<Broker, 'publish'>;
  /** Prints the report's HTML; `renderReportPdf` in production. Only the report job calls it. */
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
    return this.build(actor.orgId, sessionId);
  }

  /** The report of a session of the organisation, for whoever the caller has checked may read it. */
  private async build(orgId: string, sessionId: string): Promise<TSessionReport> {
    const header = await this.repo.sessionHeader(orgId, sessionId);
    if (!header) throw new AppError('NOT_FOUND', 'Session not found');
    const { session } = header;
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
    // The PDF changes with the score: have it printed now. Best effort: the override is saved, and
    // a PDF request finds the stored print out of date and asks again.
    await this.requestRendering({ orgId: actor.orgId, sessionId }).catch(() => {});
    return this.report(actor, sessionId);
  }

  /**
   * The report as PDF, never printed here: printing takes seconds of Chromium, so the report job
   * (`printStored`, run by the workers) does it. A PDF is stored under the hash of the HTML it
   * was printed from; when the one stored is of the current HTML it is returned, otherwise the
   * print is requested (at most once per `RENDER_REQUEST_AGAIN_AFTER_MS`) and the caller is told
   * to ask again. After a failed print, `REPORT_RENDER_FAILED` until the cool-down has passed.
   */
  async pdf(actor: Actor, sessionId: string): Promise<PdfAnswer> {
    requireStaff(actor);
    const orgId = actor.orgId;
    const keys = reportKeys(orgId, sessionId, renderReportHtml(await this.build(orgId, sessionId)));
    const row = await this.repo.findReport(orgId, sessionId, 'pdf');
    const now = this.clock();
    const sinceUpdate = row ? now.getTime() - row.updatedAt.getTime() : Number.POSITIVE_INFINITY;
    if (row?.storageKey === keys.pdf) {
      if (row.status === 'ready' && (await this.deps.storage.exists(keys.pdf))) {
        return { status: 'ready', pdf: Buffer.from((await this.deps.storage.get(keys.pdf)).bytes) };
      }
      if (row.status === 'failed' && sinceUpdate < RENDER_FAILED_COOLDOWN_MS) {
        const retryAfterSeconds = Math.ceil((RENDER_FAILED_COOLDOWN_MS - sinceUpdate) / 1000);
        // The browser's error stays in the `reports` row and the worker's log: it names server paths.
        throw new AppError('REPORT_RENDER_FAILED', 'The report could not be printed to PDF', { retryAfterSeconds });
      }
    }
    const requested = row?.storageKey === keys.pdf && row.status === 'pending';
    if (!requested || sinceUpdate >= RENDER_REQUEST_AGAIN_AFTER_MS) {
      // Published first: a failed publish leaves no `pending` mark that would hold back the next request.
      await this.requestRendering({ orgId, sessionId });
      await this.repo.markPdfRequested(orgId, sessionId, keys.pdf, now);
    }
    return {
      status: 'rendering',
      retryAfterSeconds: RENDER_RETRY_AFTER_SECONDS,
      message: 'The PDF of the current report is being printed; ask again shortly.',
    };
  }

  /** Asks the workers to print the session's current report (after a change to it). */
  async requestRendering(event: TReportRenderRequestedEvent): Promise<void> {
    await this.deps.broker.publish(REPORT_RENDER_REQUESTED, event, {
      messageId: `report:${event.sessionId}:${this.clock().getTime()}`,
    });
  }

  /**
   * The report job: prints the session's current report and stores the HTML and the PDF under
   * the hash of the HTML, records both in `reports`, and deletes the session's superseded prints.
   * Nothing is printed when a PDF of this HTML is already stored, so a redelivery is harmless.
   * A failure on the job's `lastAttempt` is recorded on the `pdf` row before it is rethrown.
   */
  async printStored(orgId: string, sessionId: string, options: { lastAttempt: boolean }): Promise<RenderOutcome> {
    let html: string;
    try {
      html = renderReportHtml(await this.build(orgId, sessionId));
    } catch (err) {
      if (err instanceof AppError && err.code === 'NOT_FOUND') return 'gone';
      throw err;
    }
    const keys = reportKeys(orgId, sessionId, html);
    const row = await this.repo.findReport(orgId, sessionId, 'pdf');
    if (row?.status === 'ready' && row.storageKey === keys.pdf && (await this.deps.storage.exists(keys.pdf))) {
      return 'current';
    }
    try {
      const pdf = await this.deps.renderPdf(html);
      await this.deps.storage.put(keys.html, Buffer.from(html, 'utf8'), 'text/html; charset=utf-8');
      await this.deps.storage.put(keys.pdf, pdf, 'application/pdf');
      await this.repo.saveRendered(orgId, sessionId, keys, this.clock());
    } catch (err) {
      if (options.lastAttempt) {
        const message = err instanceof Error ? err.message.slice(0, 500) : String(err);
        await this.repo.markPdfFailed(orgId, sessionId, keys.pdf, message, this.clock());
      }
      throw err;
    }
    for (const key of await this.deps.storage.list(keys.prefix)) {
      if (key !== keys.html && key !== keys.pdf) await this.deps.storage.delete(key);
    }
    return 'printed';
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

/** Where a print of this HTML is stored: `orgs/…/sessions/…/reports/report-<hash>.{html,pdf}`. */
function reportKeys(orgId: string, sessionId: string, html: string) {
  const hash = createHash('sha256').update(html).digest('hex').slice(0, 32);
  const prefix = `orgs/${orgId}/sessions/${sessionId}/reports/`;
  return { prefix, html: `${prefix}report-${hash}.html`, pdf: `${prefix}report-${hash}.pdf` };
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

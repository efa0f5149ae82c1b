import type { ScoreWeights } from '../../infra/db/schema.ts';
import { round2 } from './session-score.ts';

/** Stored as the "prompt version" of the technical and communication rows: bump when a formula below changes. */
export const FINAL_SCORES_VERSION = 'final-scores/v1';

export type CriterionArea = 'technical' | 'communication';

/**
 * Words that make a rubric criterion a communication criterion when they appear, as whole words,
 * in its key or name. Everything else is technical: recruiters name delivery criteria plainly
 * ("Clarity", "Communication", "Structure", "Concise"), while subject criteria have open-ended
 * names, so a closed list of delivery words misclassifies least. "Data structure(s)" is a subject.
 */
export const COMMUNICATION_WORDS: readonly string[] = [
  'communication',
  'communicate',
  'communicating',
  'clarity',
  'clear',
  'concise',
  'conciseness',
  'concision',
  'structure',
  'structured',
  'articulate',
  'articulation',
  'fluency',
  'fluent',
  'coherence',
  'coherent',
  'storytelling',
  'listening',
  'persuasion',
  'persuasive',
];
const COMMUNICATION = new Set(COMMUNICATION_WORDS);

/** Whether a rubric criterion judges communication or the subject; see `COMMUNICATION_WORDS`. */
export function criterionArea(c: { key?: string | null; name: string }): CriterionArea {
  const text = `${c.key ?? ''} ${c.name}`
    .toLowerCase()
    .replace(/data[\s_-]*structures?/g, ' ')
    .split(/[^a-z]+/);
  return text.some((w) => COMMUNICATION.has(w)) ? 'communication' : 'technical';
}

/** One criterion score of one counted answer (overrides applied). */
export interface AreaScore {
  answerId: string;
  area: CriterionArea;
  /** The rubric weight of the criterion. */
  weight: number;
  score: number;
}

/**
 * The criterion scores of the counted answers (`answerIds`) among stored score rows, each with its
 * area and rubric weight, a recruiter's override applied.
 */
export function areaScores(
  rows: readonly {
    kind: string;
    answerId: string | null;
    criterion: string | null;
    score: number;
    overrideScore: number | null;
    evidence: Record<string, unknown>;
  }[],
  answerIds: ReadonlySet<string>,
): AreaScore[] {
  return rows.flatMap((r) =>
    r.kind === 'criterion' && r.answerId && answerIds.has(r.answerId)
      ? [
          {
            answerId: r.answerId,
            area: criterionArea({ key: r.criterion, name: (r.evidence.name as string | undefined) ?? '' }),
            weight: typeof r.evidence.weight === 'number' ? r.evidence.weight : 1,
            score: r.overrideScore ?? r.score,
          },
        ]
      : [],
  );
}

/** The final scores of a session, each 0–5; a part that does not count is absent, never 0. */
export interface FinalScores {
  technical?: number;
  communication?: number;
  emotion?: number;
  overall: number | null;
  /** The weight each part carries in `overall` (0 when absent). */
  weights: { technical: number; communication: number; emotion: number };
  /** What communication is made of, and the share of the rubrics' weight on technical criteria. */
  components: { communicationCriteria?: number; delivery?: number; technicalShare: number };
}

/**
 * The session's final scores from its criterion scores, the delivery score and the emotion score,
 * with the interview's weights a = `answers` (the rubrics), b = `behavioral` (spoken delivery),
 * e = `emotion`. Each question counts equally: its criterion weights are normalised to sum to 1.
 *
 * - technical T = weighted mean of the technical criterion scores over all counted questions;
 * - technical share τ = (normalised weight on technical criteria) / (counted questions);
 * - communication C = weighted mean of K = the communication criterion scores (weight a·(1 − τ))
 *   and D = the delivery score (weight b); a plain mean of K and D when both weights are 0;
 * - emotion E as given;
 * - overall = (a·τ·T + (a·(1 − τ) + b)·C + e·E) / (a·τ + a·(1 − τ) + b + e) over the parts present,
 *   which is the weighted mean of the answer scores, delivery and emotion: the split never moves
 *   the overall score. Null when no part with a positive weight exists.
 *
 * `delivery` and `emotion` are passed only when they may count (a `scored` policy with consent).
 */
export function finalScores(input: {
  criteria: readonly AreaScore[];
  delivery?: number;
  emotion?: number;
  weights?: ScoreWeights;
}): FinalScores {
  const a = input.weights?.answers ?? 1;
  const b = input.weights?.behavioral ?? 0;
  const e = input.weights?.emotion ?? 0;

  const perAnswer = new Map<string, number>();
  for (const c of input.criteria) perAnswer.set(c.answerId, (perAnswer.get(c.answerId) ?? 0) + c.weight);
  const sums = { technical: { w: 0, s: 0 }, communication: { w: 0, s: 0 } };
  for (const c of input.criteria) {
    const total = perAnswer.get(c.answerId)!;
    if (total <= 0) continue;
    const w = c.weight / total;
    sums[c.area].w += w;
    sums[c.area].s += w * c.score;
  }
  const questions = perAnswer.size;
  const technical = sums.technical.w > 0 ? sums.technical.s / sums.technical.w : undefined;
  const criteriaK = sums.communication.w > 0 ? sums.communication.s / sums.communication.w : undefined;
  const share = questions > 0 ? sums.technical.w / questions : 0;

  const parts: { v: number; w: number }[] = [];
  if (criteriaK !== undefined) parts.push({ v: criteriaK, w: a * (1 - share) });
  if (input.delivery !== undefined) parts.push({ v: input.delivery, w: b });
  const wC = parts.reduce((s, p) => s + p.w, 0);
  const communication = parts.length
    ? wC > 0
      ? parts.reduce((s, p) => s + p.v * p.w, 0) / wC
      : parts.reduce((s, p) => s + p.v, 0) / parts.length
    : undefined;

  const weights = {
    technical: technical === undefined ? 0 : a * share,
    communication: communication === undefined ? 0 : wC,
    emotion: input.emotion === undefined ? 0 : e,
  };
  const total = weights.technical + weights.communication + weights.emotion;
  const overall =
    total > 0
      ? round2(
          ((technical ?? 0) * weights.technical +
            (communication ?? 0) * weights.communication +
            (input.emotion ?? 0) * weights.emotion) /
            total,
        )
      : null;

  return {
    ...(technical === undefined ? {} : { technical: round2(technical) }),
    ...(communication === undefined ? {} : { communication: round2(communication) }),
    ...(input.emotion === undefined ? {} : { emotion: input.emotion }),
    overall,
    weights: {
      technical: round4(weights.technical),
      communication: round4(weights.communication),
      emotion: weights.emotion,
    },
    components: {
      ...(criteriaK === undefined ? {} : { communicationCriteria: round2(criteriaK) }),
      ...(input.delivery === undefined ? {} : { delivery: input.delivery }),
      technicalShare: round4(share),
    },
  };
}

const round4 = (x: number): number => Math.round(x * 10_000) / 10_000;

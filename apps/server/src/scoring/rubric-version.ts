import { createHash } from 'node:crypto';
import type { TRubric } from '@parley/contracts';

/**
 * The rubric's own version when it has one, otherwise a hash of everything that affects a score,
 * so two analyses with the same rubric version were judged by the same rubric.
 */
export function rubricVersion(rubric: TRubric): string {
  if (rubric.version) return rubric.version;
  const canonical = JSON.stringify({
    criteria: rubric.criteria.map((c) => ({
      name: c.name,
      weight: c.weight,
      anchors: Object.keys(c.anchors)
        .sort()
        .map((k) => [k, c.anchors[k as keyof typeof c.anchors]]),
    })),
    idealAnswer: rubric.idealAnswer,
    keyConcepts: rubric.keyConcepts,
  });
  return `sha256:${createHash('sha256').update(canonical).digest('hex').slice(0, 16)}`;
}

/** Weighted mean of the criterion scores, two decimals. */
export function overallScore(rubric: TRubric, scores: ReadonlyMap<string, number>): number {
  let sum = 0;
  let weights = 0;
  for (const c of rubric.criteria) {
    sum += (scores.get(c.name) ?? 0) * c.weight;
    weights += c.weight;
  }
  return weights === 0 ? 0 : Math.round((sum / weights) * 100) / 100;
}

import { ZRubric, type TRubric } from '@parley/contracts';
import type { Rubric as QuestionRubric } from '../infra/db/schema.ts';

/**
 * The question bank's rubric (criteria named by `key` + `name`, anchors 0–5, an ideal answer that
 * may be empty) as the analyzers read it. `version` identifies the immutable question version, so
 * every analysis of it records the same rubric version. Names that differ only in case are told
 * apart by their key, because models answer by name.
 */
export function toScoringRubric(rubric: QuestionRubric, version: string): TRubric {
  const seen = new Map<string, number>();
  for (const c of rubric.criteria) seen.set(c.name.toLowerCase(), (seen.get(c.name.toLowerCase()) ?? 0) + 1);
  return ZRubric.parse({
    version,
    criteria: rubric.criteria.map((c) => ({
      key: c.key,
      name: (seen.get(c.name.toLowerCase()) ?? 0) > 1 ? `${c.name} (${c.key})` : c.name,
      weight: c.weight,
      anchors: Object.fromEntries(
        Object.entries(c.anchors).filter(([, text]) => typeof text === 'string' && text.trim()),
      ),
    })),
    idealAnswer: rubric.idealAnswer ?? '',
    keyConcepts: rubric.keyConcepts ?? [],
  });
}

/** The key a criterion's score is stored under: the bank's key, else its name. */
export const criterionKey = (c: TRubric['criteria'][number]): string => c.key ?? c.name;

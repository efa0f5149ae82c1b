import { ZQuestionRubric, type TQuestionRubric } from '@parley/contracts';

export const LEVELS = ['0', '1', '2', '3', '4', '5'] as const;
export type Level = (typeof LEVELS)[number];
/** Levels every criterion must describe. */
export const REQUIRED_LEVELS: readonly Level[] = ['1', '3', '5'];

export interface CriterionDraft {
  key: string;
  name: string;
  description: string;
  weight: string;
  anchors: Record<Level, string>;
}

export interface RubricDraft {
  criteria: CriterionDraft[];
  idealAnswer: string;
  /** One concept per line. */
  keyConcepts: string;
}

const emptyAnchors = (): Record<Level, string> => ({ '0': '', '1': '', '2': '', '3': '', '4': '', '5': '' });

export function emptyCriterion(): CriterionDraft {
  return { key: '', name: '', description: '', weight: '1', anchors: emptyAnchors() };
}

export function emptyRubric(): RubricDraft {
  return { criteria: [emptyCriterion()], idealAnswer: '', keyConcepts: '' };
}

export function draftFromRubric(rubric: TQuestionRubric): RubricDraft {
  return {
    criteria: rubric.criteria.map((c) => ({
      key: c.key,
      name: c.name,
      description: c.description ?? '',
      weight: String(c.weight),
      anchors: { ...emptyAnchors(), ...Object.fromEntries(Object.entries(c.anchors).filter(([, v]) => v)) },
    })),
    idealAnswer: rubric.idealAnswer,
    keyConcepts: rubric.keyConcepts.join('\n'),
  };
}

/** A stable criterion key from its name ("Root cause" → "root-cause"). */
export function keyFromName(name: string): string {
  const slug = name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64);
  return slug || 'criterion';
}

/**
 * The rubric the API takes, checked with the contract's own schema; problems come back keyed
 * by form path ("criteria.0.anchors.3") so each can be shown next to its field.
 */
export function rubricFromDraft(
  draft: RubricDraft,
): { ok: true; rubric: TQuestionRubric } | { ok: false; errors: Record<string, string> } {
  const usedKeys = new Set<string>();
  const criteria = draft.criteria.map((c) => {
    let key = c.key.trim() || keyFromName(c.name);
    // Keys are generated for new criteria; keep them unique without asking the user.
    if (!c.key.trim()) {
      const base = key;
      for (let n = 2; usedKeys.has(key); n++) key = `${base}-${n}`.slice(0, 64);
    }
    usedKeys.add(key);
    const anchors: Record<string, string> = {};
    for (const level of LEVELS) {
      const text = c.anchors[level].trim();
      if (text || REQUIRED_LEVELS.includes(level)) anchors[level] = text;
    }
    return {
      key,
      name: c.name.trim(),
      ...(c.description.trim() ? { description: c.description.trim() } : {}),
      weight: c.weight.trim() === '' ? 1 : Number(c.weight),
      anchors,
    };
  });
  const candidate = {
    criteria,
    idealAnswer: draft.idealAnswer.trim(),
    keyConcepts: draft.keyConcepts
      .split(/\n|,/)
      .map((k) => k.trim())
      .filter(Boolean),
  };
  const parsed = ZQuestionRubric.safeParse(candidate);
  if (parsed.success) return { ok: true, rubric: parsed.data };
  const errors: Record<string, string> = {};
  for (const issue of parsed.error.issues) {
    const path = issue.path.map(String).join('.');
    errors[path] ??= describeIssue(path, issue.message);
  }
  return { ok: false, errors };
}

function describeIssue(path: string, message: string): string {
  if (/anchors\.\d$/.test(path)) return 'Describe what an answer at this level looks like';
  if (path.endsWith('.name')) return 'Give the criterion a name';
  if (path.endsWith('.weight')) return 'Weight must be a positive number up to 100';
  if (path.endsWith('.key')) return 'Use lower-case letters, digits, "_" and "-"';
  return message;
}

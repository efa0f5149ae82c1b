import { describe, expect, it } from 'vitest';
import { draftFromRubric, emptyCriterion, emptyRubric, keyFromName, rubricFromDraft } from './rubric-form.ts';

function filled(name: string) {
  const c = emptyCriterion();
  c.name = name;
  c.anchors['1'] = 'Vague';
  c.anchors['3'] = 'Some structure';
  c.anchors['5'] = 'Clear root cause and follow-up';
  return c;
}

describe('rubric editor model', () => {
  it('builds the API rubric with generated, unique keys and only the levels described', () => {
    const draft = {
      criteria: [filled('Root cause'), filled('Root cause!')],
      idealAnswer: ' x ',
      keyConcepts: 'a\n b ,c',
    };
    const result = rubricFromDraft(draft);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.rubric.criteria.map((c) => c.key)).toEqual(['root-cause', 'root-cause-2']);
    expect(Object.keys(result.rubric.criteria[0]!.anchors).sort()).toEqual(['1', '3', '5']);
    expect(result.rubric.keyConcepts).toEqual(['a', 'b', 'c']);
    expect(result.rubric.idealAnswer).toBe('x');
  });

  it('points at the missing anchor and the missing name', () => {
    const draft = emptyRubric();
    draft.criteria[0]!.anchors['1'] = 'poor';
    const result = rubricFromDraft(draft);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors['criteria.0.name']).toBe('Give the criterion a name');
    expect(result.errors['criteria.0.anchors.3']).toMatch(/Describe/);
    expect(result.errors['criteria.0.anchors.5']).toMatch(/Describe/);
    expect(result.errors['criteria.0.anchors.1']).toBeUndefined();
  });

  it('refuses a weight that is not a positive number', () => {
    const c = filled('Clarity');
    c.weight = '-2';
    const result = rubricFromDraft({ criteria: [c], idealAnswer: '', keyConcepts: '' });
    expect(result.ok ? {} : result.errors).toEqual({
      'criteria.0.weight': 'Weight must be a positive number up to 100',
    });
  });

  it('round-trips a stored rubric, keeping its keys', () => {
    const result = rubricFromDraft({ criteria: [filled('Clarity')], idealAnswer: '', keyConcepts: 'k' });
    if (!result.ok) throw new Error('expected ok');
    const again = rubricFromDraft(draftFromRubric(result.rubric));
    expect(again).toEqual(result);
  });

  it('makes keys from names', () => {
    expect(keyFromName('Communication & Clarity')).toBe('communication-clarity');
    expect(keyFromName('!!!')).toBe('criterion');
  });
});

import {
  LEVELS,
  REQUIRED_LEVELS,
  emptyCriterion,
  type CriterionDraft,
  type Level,
  type RubricDraft,
} from './rubric-form.ts';
import { Field } from '../ui/ui.tsx';

const LEVEL_NAMES: Record<Level, string> = {
  '0': 'Level 0 (not addressed)',
  '1': 'Level 1 (poor)',
  '2': 'Level 2',
  '3': 'Level 3 (acceptable)',
  '4': 'Level 4',
  '5': 'Level 5 (excellent)',
};

/** Criteria with anchored levels (1, 3 and 5 required), an ideal answer and key concepts. */
export function RubricEditor({
  draft,
  onChange,
  errors,
}: {
  draft: RubricDraft;
  onChange: (draft: RubricDraft) => void;
  errors: Record<string, string>;
}) {
  const setCriterion = (i: number, c: CriterionDraft) =>
    onChange({ ...draft, criteria: draft.criteria.map((x, j) => (j === i ? c : x)) });
  const move = (i: number, by: number) => {
    const criteria = [...draft.criteria];
    const [c] = criteria.splice(i, 1);
    criteria.splice(i + by, 0, c!);
    onChange({ ...draft, criteria });
  };
  return (
    <fieldset>
      <legend>Rubric</legend>
      <p className="muted">
        Each criterion is scored 0–5. Describe what an answer looks like at levels 1, 3 and 5; the other levels are
        optional.
      </p>
      {errors.criteria && (
        <p className="error" style={{ color: 'var(--danger)' }}>
          {errors.criteria}
        </p>
      )}
      {draft.criteria.map((c, i) => {
        const n = i + 1;
        const err = (path: string) => errors[`criteria.${i}.${path}`];
        return (
          <section key={i} className="criterion" aria-labelledby={`criterion-${i}-title`}>
            <h3 id={`criterion-${i}-title`} style={{ marginTop: 0 }}>
              Criterion {n}
              {c.name ? `: ${c.name}` : ''}
            </h3>
            <div className="grid">
              <Field label={`Criterion ${n} name`} error={err('name')}>
                {(p) => (
                  <input
                    {...p}
                    type="text"
                    value={c.name}
                    onChange={(e) => setCriterion(i, { ...c, name: e.target.value })}
                  />
                )}
              </Field>
              <Field label={`Criterion ${n} weight`} error={err('weight')} hint="Relative to the other criteria.">
                {(p) => (
                  <input
                    {...p}
                    type="number"
                    min={0.1}
                    max={100}
                    step="any"
                    value={c.weight}
                    onChange={(e) => setCriterion(i, { ...c, weight: e.target.value })}
                  />
                )}
              </Field>
            </div>
            <Field label={`Criterion ${n} description`} hint="Optional: what this criterion looks at.">
              {(p) => (
                <input
                  {...p}
                  type="text"
                  value={c.description}
                  onChange={(e) => setCriterion(i, { ...c, description: e.target.value })}
                />
              )}
            </Field>
            {REQUIRED_LEVELS.map((level) => (
              <Anchor
                key={level}
                n={n}
                level={level}
                c={c}
                error={err(`anchors.${level}`)}
                onChange={(x) => setCriterion(i, x)}
              />
            ))}
            <details>
              <summary>Optional levels 0, 2 and 4</summary>
              {LEVELS.filter((l) => !REQUIRED_LEVELS.includes(l)).map((level) => (
                <Anchor
                  key={level}
                  n={n}
                  level={level}
                  c={c}
                  error={err(`anchors.${level}`)}
                  onChange={(x) => setCriterion(i, x)}
                />
              ))}
            </details>
            <div className="actions">
              <button type="button" className="secondary" disabled={i === 0} onClick={() => move(i, -1)}>
                Move criterion {n} up
              </button>
              <button
                type="button"
                className="secondary"
                disabled={i === draft.criteria.length - 1}
                onClick={() => move(i, 1)}
              >
                Move criterion {n} down
              </button>
              <button
                type="button"
                className="secondary"
                disabled={draft.criteria.length === 1}
                onClick={() => onChange({ ...draft, criteria: draft.criteria.filter((_, j) => j !== i) })}
              >
                Remove criterion {n}
              </button>
            </div>
          </section>
        );
      })}
      <div className="actions">
        <button
          type="button"
          className="secondary"
          disabled={draft.criteria.length >= 20}
          onClick={() => onChange({ ...draft, criteria: [...draft.criteria, emptyCriterion()] })}
        >
          Add a criterion
        </button>
      </div>
      <Field label="Ideal answer" hint="Optional: a model answer the scorer compares against.">
        {(p) => (
          <textarea
            {...p}
            rows={4}
            value={draft.idealAnswer}
            onChange={(e) => onChange({ ...draft, idealAnswer: e.target.value })}
          />
        )}
      </Field>
      <Field label="Key concepts" hint="Optional: one per line." error={errors.keyConcepts}>
        {(p) => (
          <textarea
            {...p}
            rows={3}
            value={draft.keyConcepts}
            onChange={(e) => onChange({ ...draft, keyConcepts: e.target.value })}
          />
        )}
      </Field>
    </fieldset>
  );
}

function Anchor({
  n,
  level,
  c,
  error,
  onChange,
}: {
  n: number;
  level: Level;
  c: CriterionDraft;
  error?: string;
  onChange: (c: CriterionDraft) => void;
}) {
  return (
    <Field label={`Criterion ${n}, ${LEVEL_NAMES[level]}`} error={error}>
      {(p) => (
        <textarea
          {...p}
          rows={2}
          value={c.anchors[level]}
          onChange={(e) => onChange({ ...c, anchors: { ...c.anchors, [level]: e.target.value } })}
        />
      )}
    </Field>
  );
}

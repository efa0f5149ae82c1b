import type { TQuestion } from '@parley/contracts';
import { useState, type FormEvent } from 'react';
import { fieldErrors } from '../api/errors.ts';
import { useStaff } from '../auth/staff-context.tsx';
import { Link, navigate } from '../router/router.tsx';
import { AsyncView, EditOrCreate, ErrorMessage, Field, PageTitle, formatDate, useAction, useAsync } from '../ui/ui.tsx';
import { RubricEditor } from './rubric-editor.tsx';
import { draftFromRubric, emptyRubric, rubricFromDraft, type RubricDraft } from './rubric-form.ts';

interface QuestionDraft {
  text: string;
  category: string;
  difficulty: string;
  tags: string;
  expectedSeconds: string;
  rubric: RubricDraft;
}

const emptyDraft = (): QuestionDraft => ({
  text: '',
  category: 'general',
  difficulty: '',
  tags: '',
  expectedSeconds: '',
  rubric: emptyRubric(),
});

function draftOf(q: TQuestion): QuestionDraft {
  return {
    text: q.current.text,
    category: q.category,
    difficulty: q.difficulty === null ? '' : String(q.difficulty),
    tags: q.tags.join(', '),
    expectedSeconds: q.expectedSeconds === null ? '' : String(q.expectedSeconds),
    rubric: draftFromRubric(q.current.rubric),
  };
}

export function QuestionEditorPage({ id }: { id: string | null }) {
  const { api } = useStaff();
  return (
    <EditOrCreate id={id} title="Question" label="the question" load={(q) => api.getQuestion(q)}>
      {(question, onSaved) => <QuestionForm key={id ?? 'new'} question={question} onSaved={onSaved} />}
    </EditOrCreate>
  );
}

function QuestionForm({ question, onSaved }: { question: TQuestion | null; onSaved: (q: TQuestion) => void }) {
  const { api } = useStaff();
  const [draft, setDraft] = useState<QuestionDraft>(() => (question ? draftOf(question) : emptyDraft()));
  const [errors, setErrors] = useState<Record<string, string>>({});
  // A new question moves to its own address; `?saved` carries the confirmation across.
  const [saved, setSavedState] = useState(() => new URLSearchParams(window.location.search).has('saved'));
  const setSaved = (v: boolean) => setSavedState(v);
  const edit = (d: QuestionDraft) => {
    setSaved(false);
    setDraft(d);
  };

  const save = useAction(async () => {
    const localErrors: Record<string, string> = {};
    if (!draft.text.trim()) localErrors.text = 'Write the question.';
    const expected = draft.expectedSeconds.trim() ? Number(draft.expectedSeconds) : null;
    if (expected !== null && (!Number.isInteger(expected) || expected < 1 || expected > 3600)) {
      localErrors.expectedSeconds = 'A whole number of seconds from 1 to 3600.';
    }
    const rubric = rubricFromDraft(draft.rubric);
    const rubricErrors = rubric.ok ? {} : Object.fromEntries(Object.entries(rubric.errors).map(([k, v]) => [k, v]));
    setErrors({ ...localErrors, ...rubricErrors });
    if (!rubric.ok || Object.keys(localErrors).length > 0) return;
    const body = {
      text: draft.text.trim(),
      category: draft.category.trim() || 'general',
      difficulty: draft.difficulty ? Number(draft.difficulty) : null,
      tags: draft.tags
        .split(',')
        .map((t) => t.trim().toLowerCase())
        .filter(Boolean),
      expectedSeconds: expected,
      rubric: rubric.rubric,
    };
    try {
      const result = question ? await api.updateQuestion(question.id, body) : await api.createQuestion(body);
      setSaved(true);
      if (!question) navigate(`/questions/${result.id}?saved`, { replace: true });
      onSaved(result);
    } catch (err) {
      setErrors(prefix(fieldErrors(err)));
      throw err;
    }
  });
  const archive = useAction(async () => {
    if (!question) return;
    onSaved(question.archivedAt ? await api.restoreQuestion(question.id) : await api.archiveQuestion(question.id));
  });
  const errorCount = Object.keys(errors).length;

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    save.run();
  };

  return (
    <>
      <p>
        <Link to="/questions">← Question bank</Link>
      </p>
      <PageTitle title={question ? 'Edit question' : 'New question'}>
        {question ? 'Edit question' : 'New question'}
      </PageTitle>
      {question && (
        <p className="muted">
          Version {question.current.version}, saved {formatDate(question.current.createdAt)}. Changing the text or the
          rubric creates a new version; interviews keep the version they were built with.
          {question.archivedAt && ' This question is archived.'}
        </p>
      )}
      <form onSubmit={onSubmit} noValidate>
        <Field label="Question" error={errors.text}>
          {(p) => (
            <textarea {...p} rows={4} value={draft.text} onChange={(e) => edit({ ...draft, text: e.target.value })} />
          )}
        </Field>
        <div className="grid">
          <Field label="Category" error={errors.category}>
            {(p) => (
              <input
                {...p}
                type="text"
                value={draft.category}
                onChange={(e) => edit({ ...draft, category: e.target.value })}
              />
            )}
          </Field>
          <Field label="Difficulty">
            {(p) => (
              <select {...p} value={draft.difficulty} onChange={(e) => edit({ ...draft, difficulty: e.target.value })}>
                <option value="">Not set</option>
                {[1, 2, 3, 4, 5].map((d) => (
                  <option key={d} value={d}>
                    {d}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Expected answer length (seconds)" error={errors.expectedSeconds}>
            {(p) => (
              <input
                {...p}
                type="number"
                min={1}
                max={3600}
                value={draft.expectedSeconds}
                onChange={(e) => edit({ ...draft, expectedSeconds: e.target.value })}
              />
            )}
          </Field>
        </div>
        <Field label="Tags" hint="Separated by commas." error={errors.tags}>
          {(p) => (
            <input {...p} type="text" value={draft.tags} onChange={(e) => edit({ ...draft, tags: e.target.value })} />
          )}
        </Field>
        <RubricEditor
          draft={draft.rubric}
          onChange={(rubric) => edit({ ...draft, rubric })}
          errors={rubricErrorsOf(errors)}
        />
        {errorCount > 0 && !save.error && (
          <div className="alert" role="alert">
            Some fields need attention ({errorCount}). They are marked below their labels.
          </div>
        )}
        <ErrorMessage error={save.error ?? archive.error} />
        {saved && (
          <p className="success" role="status">
            Saved.
          </p>
        )}
        <div className="actions">
          <button type="submit" disabled={save.busy}>
            {save.busy ? 'Saving…' : question ? 'Save changes' : 'Save question'}
          </button>
          {question && (
            <button type="button" className="secondary" onClick={() => archive.run()} disabled={archive.busy}>
              {question.archivedAt ? 'Restore question' : 'Archive question'}
            </button>
          )}
        </div>
      </form>
      {question && <Versions id={question.id} version={question.current.version} />}
    </>
  );
}

function Versions({ id, version }: { id: string; version: number }) {
  const { api } = useStaff();
  const versions = useAsync(() => api.questionVersions(id), [id, version]);
  return (
    <section aria-labelledby="versions-heading">
      <h2 id="versions-heading">Versions</h2>
      <AsyncView value={versions} label="versions">
        {(list) => (
          <ol reversed>
            {list.map((v) => (
              <li key={v.id}>
                v{v.version}, {formatDate(v.createdAt)}: {v.rubric.criteria.length} criteria — “{v.text.slice(0, 80)}
                {v.text.length > 80 ? '…' : ''}”
              </li>
            ))}
          </ol>
        )}
      </AsyncView>
    </section>
  );
}

/** Server paths of the rubric ("rubric.criteria.0.name") → the editor's ("criteria.0.name"). */
function rubricErrorsOf(errors: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(errors)) {
    if (k.startsWith('rubric.')) out[k.slice('rubric.'.length)] = v;
    else if (k.startsWith('criteria') || k === 'keyConcepts') out[k] = v;
  }
  return out;
}

function prefix(errors: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(errors).map(([k, v]) => [k.replace(/^body\./, ''), v]));
}

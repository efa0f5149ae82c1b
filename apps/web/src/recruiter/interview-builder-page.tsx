import type { TEmotionPolicy, TInterview, TQuestion } from '@parley/contracts';
import { useState, type FormEvent } from 'react';
import { fieldErrors } from '../api/errors.ts';
import { useStaff } from '../auth/staff-context.tsx';
import { Link, navigate } from '../router/router.tsx';
import {
  AsyncView,
  EditOrCreate,
  ErrorMessage,
  Field,
  PageTitle,
  StatusBadge,
  useAction,
  useAsync,
} from '../ui/ui.tsx';
import { InvitationsPanel } from './invitations-panel.tsx';
import { POLICY_LABELS } from './interviews-page.tsx';
import { truncate } from './questions-page.tsx';

interface QuestionRow {
  questionId: string;
  version?: number;
  text: string;
  prepSeconds: string;
  answerSeconds: string;
  retakesAllowed: string;
}

interface Draft {
  title: string;
  description: string;
  language: string;
  deadline: string;
  emotionPolicy: TEmotionPolicy;
  weights: { answers: string; emotion: string; behavioral: string };
  practiceFirst: boolean;
  questions: QuestionRow[];
}

function draftOf(i: TInterview | null): Draft {
  if (!i) {
    return {
      title: '',
      description: '',
      language: 'en',
      deadline: '',
      emotionPolicy: 'off',
      weights: { answers: '1', emotion: '0', behavioral: '0' },
      practiceFirst: false,
      questions: [],
    };
  }
  return {
    title: i.title,
    description: i.description,
    language: i.settings.language,
    deadline: i.settings.deadline ? toLocalInput(i.settings.deadline) : '',
    emotionPolicy: i.settings.emotionPolicy,
    weights: {
      answers: String(i.settings.weights.answers),
      emotion: String(i.settings.weights.emotion),
      behavioral: String(i.settings.weights.behavioral),
    },
    practiceFirst: i.questions[0]?.isPractice ?? false,
    questions: i.questions.map((q) => ({
      questionId: q.questionId,
      version: q.version,
      text: q.text,
      prepSeconds: String(q.prepSeconds),
      answerSeconds: String(q.answerSeconds),
      retakesAllowed: String(q.retakesAllowed),
    })),
  };
}

export function InterviewBuilderPage({ id }: { id: string | null }) {
  const { api } = useStaff();
  return (
    <EditOrCreate id={id} title="Interview" label="the interview" load={(i) => api.getInterview(i)}>
      {(interview, onSaved) => <Builder key={id ?? 'new'} interview={interview} onSaved={onSaved} />}
    </EditOrCreate>
  );
}

function Builder({ interview, onSaved }: { interview: TInterview | null; onSaved: (i: TInterview) => void }) {
  const { api } = useStaff();
  const [draft, setDraft] = useState<Draft>(() => draftOf(interview));
  const [saved, setSaved] = useState(() => new URLSearchParams(window.location.search).has('saved'));
  const editable = !interview || interview.status === 'draft';
  const bank = useAsync(() => api.listQuestions({ limit: 200 }), []);
  const [pick, setPick] = useState('');
  const update = (d: Partial<Draft>) => {
    setSaved(false);
    setDraft({ ...draft, ...d });
  };
  const setRow = (i: number, row: Partial<QuestionRow>) =>
    update({ questions: draft.questions.map((q, j) => (j === i ? { ...q, ...row } : q)) });
  const move = (i: number, by: number) => {
    const questions = [...draft.questions];
    const [q] = questions.splice(i, 1);
    questions.splice(i + by, 0, q!);
    update({ questions });
  };

  const save = useAction(async () => {
    const body = {
      title: draft.title.trim(),
      description: draft.description.trim(),
      settings: {
        language: draft.language.trim() || 'en',
        deadline: draft.deadline ? new Date(draft.deadline).toISOString() : null,
        emotionPolicy: draft.emotionPolicy,
        weights: {
          answers: num(draft.weights.answers, 1),
          emotion: num(draft.weights.emotion, 0),
          behavioral: num(draft.weights.behavioral, 0),
        },
      },
      questions: draft.questions.map((q, i) => ({
        questionId: q.questionId,
        ...(q.version !== undefined ? { version: q.version } : {}),
        isPractice: draft.practiceFirst && i === 0,
        prepSeconds: num(q.prepSeconds, 30),
        ...(q.answerSeconds.trim() ? { answerSeconds: num(q.answerSeconds, 120) } : {}),
        retakesAllowed: num(q.retakesAllowed, 0),
      })),
    };
    const result = interview
      ? await api.updateInterview(interview.id, editable ? body : { title: body.title, description: body.description })
      : await api.createInterview(body);
    setSaved(true);
    if (!interview) navigate(`/interviews/${result.id}?saved`, { replace: true });
    onSaved(result);
    setDraft(draftOf(result));
  });
  const publish = useAction(async () => {
    if (!interview) return;
    setSaved(false);
    onSaved(await api.publishInterview(interview.id));
  });
  const archive = useAction(async () => {
    if (!interview || !window.confirm('Archive this interview? Candidates can no longer be invited to it.')) return;
    onSaved(await api.archiveInterview(interview.id));
  });
  const errors = fieldErrors(save.error);

  const addQuestion = (bankList: TQuestion[]) => {
    const q = bankList.find((x) => x.id === pick);
    if (!q) return;
    update({
      questions: [
        ...draft.questions,
        {
          questionId: q.id,
          text: q.current.text,
          prepSeconds: '30',
          answerSeconds: q.expectedSeconds ? String(q.expectedSeconds) : '',
          retakesAllowed: '0',
        },
      ],
    });
    setPick('');
  };

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    save.run();
  };
  const title = interview ? interview.title || 'Interview' : 'New interview';

  return (
    <>
      <p>
        <Link to="/interviews">← Interviews</Link>
      </p>
      <PageTitle title={title}>
        {title} {interview && <StatusBadge status={interview.status} />}
      </PageTitle>
      {!editable && (
        <p className="notice">
          This interview is {interview?.status}. Its questions and settings are fixed so that every candidate gets the
          same interview; the title and description can still change.
        </p>
      )}
      <form onSubmit={onSubmit} noValidate>
        <Field label="Title" error={errors.title}>
          {(p) => <input {...p} type="text" value={draft.title} onChange={(e) => update({ title: e.target.value })} />}
        </Field>
        <Field label="Description" hint="Shown to recruiters; optional." error={errors.description}>
          {(p) => (
            <textarea
              {...p}
              rows={3}
              value={draft.description}
              onChange={(e) => update({ description: e.target.value })}
            />
          )}
        </Field>
        <fieldset disabled={!editable}>
          <legend>Settings</legend>
          <div className="grid">
            <Field label="Language" hint='e.g. "en" or "en-GB"' error={errors['settings.language']}>
              {(p) => (
                <input
                  {...p}
                  type="text"
                  value={draft.language}
                  onChange={(e) => update({ language: e.target.value })}
                />
              )}
            </Field>
            <Field label="Deadline" hint="Optional; after it the interview can no longer be taken.">
              {(p) => (
                <input
                  {...p}
                  type="datetime-local"
                  value={draft.deadline}
                  onChange={(e) => update({ deadline: e.target.value })}
                />
              )}
            </Field>
            <Field
              label="Video analysis policy"
              hint="Never wider than the organisation's policy; candidates must consent."
            >
              {(p) => (
                <select
                  {...p}
                  value={draft.emotionPolicy}
                  onChange={(e) => update({ emotionPolicy: e.target.value as TEmotionPolicy })}
                >
                  {(['off', 'insights', 'scored'] as const).map((v) => (
                    <option key={v} value={v}>
                      {POLICY_LABELS[v]}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          </div>
          <div className="grid">
            {(['answers', 'emotion', 'behavioral'] as const).map((k) => (
              <Field
                key={k}
                label={`Weight: ${k === 'answers' ? 'answers' : k === 'emotion' ? 'video analysis' : 'behaviour'}`}
              >
                {(p) => (
                  <input
                    {...p}
                    type="number"
                    min={0}
                    max={100}
                    step="any"
                    value={draft.weights[k]}
                    onChange={(e) => update({ weights: { ...draft.weights, [k]: e.target.value } })}
                  />
                )}
              </Field>
            ))}
          </div>
        </fieldset>
        <fieldset disabled={!editable}>
          <legend>Questions</legend>
          {errors.questions && (
            <p className="error" style={{ color: 'var(--danger)' }}>
              {errors.questions}
            </p>
          )}
          <div className="check">
            <input
              id="practice-first"
              type="checkbox"
              checked={draft.practiceFirst}
              onChange={(e) => update({ practiceFirst: e.target.checked })}
            />
            <label htmlFor="practice-first">The first question is a practice question (not scored)</label>
          </div>
          {draft.questions.length === 0 && (
            <p className="muted">No questions yet. Add them from the question bank below.</p>
          )}
          <ol>
            {draft.questions.map((q, i) => {
              const n = i + 1;
              return (
                <li key={`${q.questionId}-${i}`} className="criterion">
                  <p style={{ marginTop: 0 }}>
                    {draft.practiceFirst && i === 0 && <strong>Practice: </strong>}
                    {truncate(q.text, 200)} {q.version !== undefined && <span className="muted">(v{q.version})</span>}
                  </p>
                  <div className="grid">
                    <Field label={`Question ${n} preparation (seconds)`}>
                      {(p) => (
                        <input
                          {...p}
                          type="number"
                          min={0}
                          max={600}
                          value={q.prepSeconds}
                          onChange={(e) => setRow(i, { prepSeconds: e.target.value })}
                        />
                      )}
                    </Field>
                    <Field
                      label={`Question ${n} answer time (seconds)`}
                      hint="Empty: the question's expected length, else 120."
                    >
                      {(p) => (
                        <input
                          {...p}
                          type="number"
                          min={10}
                          max={3600}
                          value={q.answerSeconds}
                          onChange={(e) => setRow(i, { answerSeconds: e.target.value })}
                        />
                      )}
                    </Field>
                    <Field label={`Question ${n} retakes allowed`}>
                      {(p) => (
                        <input
                          {...p}
                          type="number"
                          min={0}
                          max={5}
                          value={q.retakesAllowed}
                          onChange={(e) => setRow(i, { retakesAllowed: e.target.value })}
                        />
                      )}
                    </Field>
                  </div>
                  <div className="actions" style={{ margin: 0 }}>
                    <button type="button" className="secondary" disabled={i === 0} onClick={() => move(i, -1)}>
                      Move question {n} up
                    </button>
                    <button
                      type="button"
                      className="secondary"
                      disabled={i === draft.questions.length - 1}
                      onClick={() => move(i, 1)}
                    >
                      Move question {n} down
                    </button>
                    <button
                      type="button"
                      className="secondary"
                      onClick={() => update({ questions: draft.questions.filter((_, j) => j !== i) })}
                    >
                      Remove question {n}
                    </button>
                  </div>
                </li>
              );
            })}
          </ol>
          {editable && (
            <AsyncView value={bank} label="the question bank">
              {(list) =>
                list.length === 0 ? (
                  <p className="muted">
                    The question bank is empty. <Link to="/questions/new">Write a question</Link> first.
                  </p>
                ) : (
                  <div className="filters">
                    <Field label="Question from the bank">
                      {(p) => (
                        <select {...p} value={pick} onChange={(e) => setPick(e.target.value)}>
                          <option value="">Choose a question…</option>
                          {list.map((q) => (
                            <option key={q.id} value={q.id}>
                              {truncate(q.current.text, 90)}
                            </option>
                          ))}
                        </select>
                      )}
                    </Field>
                    <button
                      type="button"
                      className="secondary"
                      disabled={!pick}
                      onClick={() => addQuestion(list)}
                      style={{ marginBottom: '0.9rem' }}
                    >
                      Add question
                    </button>
                  </div>
                )
              }
            </AsyncView>
          )}
        </fieldset>
        <ErrorMessage error={save.error ?? publish.error ?? archive.error} />
        {saved && (
          <p className="success" role="status">
            Saved.
          </p>
        )}
        <div className="actions">
          <button type="submit" disabled={save.busy}>
            {save.busy ? 'Saving…' : interview ? 'Save interview' : 'Create interview'}
          </button>
          {interview?.status === 'draft' && (
            <button
              type="button"
              onClick={() => publish.run()}
              disabled={publish.busy || interview.questions.length === 0}
              aria-describedby="publish-hint"
            >
              Publish
            </button>
          )}
          {interview && interview.status !== 'archived' && (
            <button type="button" className="secondary" onClick={() => archive.run()} disabled={archive.busy}>
              Archive
            </button>
          )}
        </div>
        {interview?.status === 'draft' && (
          <p className="muted" id="publish-hint">
            Save your changes, then publish to invite candidates. A published interview no longer changes.
          </p>
        )}
      </form>
      {interview?.status === 'published' && <InvitationsPanel interviewId={interview.id} />}
      {interview && interview.status !== 'draft' && (
        <p>
          <Link to={`/sessions?interviewId=${interview.id}`}>Sessions of this interview</Link>
        </p>
      )}
    </>
  );
}

function num(value: string, fallback: number): number {
  const n = Number(value);
  return value.trim() === '' || !Number.isFinite(n) ? fallback : n;
}

function toLocalInput(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

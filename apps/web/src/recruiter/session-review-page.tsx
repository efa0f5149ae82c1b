import type { TAnswer, TRecording, TSessionReport, TSessionStatus } from '@parley/contracts';
import { useState, type FormEvent } from 'react';
import { useStaff } from '../auth/staff-context.tsx';
import { Link } from '../router/router.tsx';
import { AsyncView, ErrorMessage, Field, PageTitle, StatusBadge, formatDate, useAction, useAsync } from '../ui/ui.tsx';
import { LiveView } from './live-view.tsx';
import { RecordingPlayer } from './recording-player.tsx';
import { TimelineChart } from './timeline-chart.tsx';

type ReportQuestion = TSessionReport['questions'][number];
type ReportCriterion = ReportQuestion['criteria'][number];

const LIVE: readonly TSessionStatus[] = ['invited', 'consented', 'in_progress'];

export function SessionReviewPage({ id }: { id: string }) {
  const { api } = useStaff();
  const session = useAsync(() => api.getSession(id), [id]);
  const report = useAsync(() => api.report(id), [id]);
  const answers = useAsync(() => api.sessionAnswers(id), [id]);
  const recordings = useAsync(() => api.recordings(id), [id]);
  const refreshAll = () => {
    session.reload();
    report.reload();
    answers.reload();
    recordings.reload();
  };
  const onLiveStatus = (status: TSessionStatus) => {
    if (session.status === 'ok' && status !== session.data.status) refreshAll();
  };

  const name = report.status === 'ok' ? report.data.candidate.name : 'Session';
  return (
    <>
      <p>
        <Link to="/sessions">← Sessions</Link>
      </p>
      <PageTitle title={name}>
        {report.status === 'ok' ? `${report.data.candidate.name} — ${report.data.interviewTitle}` : 'Session'}
      </PageTitle>
      <AsyncView value={session} label="the session">
        {(view) => (
          <>
            <dl className="facts">
              <dt>Status</dt>
              <dd>
                <StatusBadge status={view.status} />
              </dd>
              {report.status === 'ok' && (
                <>
                  <dt>Candidate</dt>
                  <dd>
                    {report.data.candidate.name} ({report.data.candidate.email})
                  </dd>
                </>
              )}
              <dt>Started</dt>
              <dd>{formatDate(view.startedAt)}</dd>
              <dt>Completed</dt>
              <dd>{formatDate(view.completedAt)}</dd>
              <dt>Consents</dt>
              <dd>
                AI notice {view.consents.aiNotice ? 'read' : 'not yet read'}; recording{' '}
                {view.consents.recording ? 'agreed' : 'declined'}; video analysis{' '}
                {view.consents.videoAnalysis ? 'agreed' : 'declined'}
              </dd>
            </dl>
            {LIVE.includes(view.status) && (
              <LiveView sessionId={id} questionCount={view.questionCount} onStatus={onLiveStatus} />
            )}
          </>
        )}
      </AsyncView>
      <AsyncView value={report} label="the report">
        {(r) => (
          <Report
            report={r}
            answers={answers.status === 'ok' ? answers.data : []}
            recordings={recordings.status === 'ok' ? recordings.data.recordings : []}
            recordingsError={recordings.status === 'error' ? recordings.error : null}
            onUrlsExpired={recordings.reload}
            onChange={report.set}
          />
        )}
      </AsyncView>
    </>
  );
}

function Report({
  report,
  answers,
  recordings,
  recordingsError,
  onUrlsExpired,
  onChange,
}: {
  report: TSessionReport;
  answers: TAnswer[];
  recordings: TRecording[];
  recordingsError: unknown;
  onUrlsExpired: () => void;
  onChange: (r: TSessionReport) => void;
}) {
  const { api } = useStaff();
  const download = useAction(async () => {
    const pdf = await api.reportPdf(report.sessionId);
    const url = URL.createObjectURL(pdf);
    const a = document.createElement('a');
    a.href = url;
    a.download = `parley-report-${report.candidate.name.replace(/[^\w-]+/g, '-')}.pdf`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  });
  return (
    <>
      <section aria-labelledby="score-heading">
        <h2 id="score-heading">Score</h2>
        {report.overall === null ? (
          <p className="muted">
            {report.status === 'scoring'
              ? 'Scoring is in progress; scores appear here when it finishes.'
              : report.status === 'completed' || report.status === 'scored'
                ? 'No score yet.'
                : 'Scores appear once the candidate has finished.'}
          </p>
        ) : (
          <dl className="facts">
            <dt>Overall (0–5)</dt>
            <dd data-testid="overall-score">
              {fmt(report.effectiveOverall)}
              {report.effectiveOverall !== report.overall && ` (originally ${fmt(report.overall)}, before overrides)`}
            </dd>
            {Object.entries(report.parts).map(([k, v]) => (
              <FactRow
                key={k}
                label={`Part: ${k}`}
                value={`${fmt(v ?? null)} (weight ${report.weights[k as keyof typeof report.weights]})`}
              />
            ))}
            <dt>Scored</dt>
            <dd>{formatDate(report.scoredAt)}</dd>
          </dl>
        )}
        <ErrorMessage error={download.error} />
        <div className="actions">
          <button type="button" className="secondary" onClick={() => download.run()} disabled={download.busy}>
            {download.busy ? 'Preparing…' : 'Download report'}
          </button>
          <span className="muted">PDF, with the timeline chart and how every score was made.</span>
        </div>
        {(report.strengths.length > 0 || report.gaps.length > 0) && (
          <div className="grid">
            <List title="Strengths" items={report.strengths} />
            <List title="Gaps" items={report.gaps} />
          </div>
        )}
      </section>
      <FeedbackRelease sessionId={report.sessionId} scored={report.status === 'scored'} />
      <section aria-labelledby="answers-heading">
        <h2 id="answers-heading">Answers</h2>
        {report.questions.length === 0 && <p className="muted">No questions.</p>}
        {recordingsError !== null && <ErrorMessage error={recordingsError} />}
        {report.questions.map((q) => (
          <QuestionReport
            key={q.position}
            sessionId={report.sessionId}
            question={q}
            attempts={answers.filter((a) => a.position === q.position)}
            recordings={recordings.filter((r) => r.position === q.position)}
            onUrlsExpired={onUrlsExpired}
            onChange={onChange}
          />
        ))}
      </section>
      {report.emotion && (
        <section aria-labelledby="video-heading">
          <h2 id="video-heading">Video insights</h2>
          <p className="notice">
            {report.emotion.countsTowardScore
              ? 'Under this interview’s policy, these insights count toward the score with the weight shown above.'
              : 'Shown for context only: these insights do not count toward the score.'}
          </p>
          <dl className="facts">
            <FactRow label="Frames analysed" value={String(report.emotion.frames)} />
            <FactRow label="Face visible" value={pct(report.emotion.facePresent)} />
            <FactRow label="Looking away" value={pct(report.emotion.lookingAway)} />
            <FactRow label="Several faces" value={pct(report.emotion.severalFaces)} />
            <FactRow label="Blinks per minute" value={report.emotion.blinksPerMinute.toFixed(1)} />
            <FactRow label="Expression stability" value={pct(report.emotion.expressionStability)} />
          </dl>
          <TimelineChart
            points={report.emotion.timeline}
            title="Face presence and blinks over the interview"
            blinksLabel="blinks"
          />
          <h3>Integrity events</h3>
          <p className="muted">Listed apart from the score, for a person to judge.</p>
          {report.emotion.integrityEvents.length === 0 ? (
            <p>None.</p>
          ) : (
            <ul>
              {report.emotion.integrityEvents.map((e, i) => (
                <li key={i}>
                  {EVENT_LABELS[e.kind]} from {(e.startMs / 1000).toFixed(1)} s to {(e.endMs / 1000).toFixed(1)} s (
                  {e.frames} frames)
                </li>
              ))}
            </ul>
          )}
        </section>
      )}
      {report.provenance.length > 0 && (
        <section aria-labelledby="provenance-heading">
          <h2 id="provenance-heading">How this was scored</h2>
          <ul>
            {report.provenance.map((p, i) => (
              <li key={i}>
                {p.provider} / {p.model}, prompt {p.promptVersion}
              </li>
            ))}
          </ul>
          {Object.keys(report.formulas).length > 0 && (
            <details>
              <summary>Formulas</summary>
              <dl className="facts">
                {Object.entries(report.formulas).map(([k, v]) => (
                  <FactRow key={k} label={k} value={v} />
                ))}
              </dl>
            </details>
          )}
        </section>
      )}
    </>
  );
}

const EVENT_LABELS = {
  no_face: 'No face visible',
  several_faces: 'Several faces',
  looking_away: 'Looking away',
} as const;

function QuestionReport({
  sessionId,
  question: q,
  attempts,
  recordings,
  onUrlsExpired,
  onChange,
}: {
  sessionId: string;
  question: ReportQuestion;
  attempts: TAnswer[];
  recordings: TRecording[];
  onUrlsExpired: () => void;
  onChange: (r: TSessionReport) => void;
}) {
  const latest = attempts.at(-1);
  // The newest recorded attempt by default (the one that is scored); earlier ones on request.
  const [chosenAttempt, setChosenAttempt] = useState<number | null>(null);
  const recording = recordings.find((r) => r.attempt === chosenAttempt) ?? recordings.at(-1);
  const label = `question ${q.position + 1}${recordings.length > 1 && recording ? `, attempt ${recording.attempt}` : ''}`;
  return (
    <article className="criterion" aria-labelledby={`q-${q.position}`}>
      <h3 id={`q-${q.position}`} style={{ marginTop: 0 }}>
        Question {q.position + 1}
        {latest?.isPractice ? ' (practice, not scored)' : ''}: {q.question}
      </h3>
      <dl className="facts">
        <dt>Status</dt>
        <dd>{QUESTION_STATUS[q.status]}</dd>
        <dt>Score</dt>
        <dd>
          {fmt(q.effectiveScore)}
          {q.effectiveScore !== q.score && q.score !== null ? ` (originally ${fmt(q.score)})` : ''}
        </dd>
        <dt>Attempts</dt>
        <dd>
          {attempts.length === 0
            ? 'None'
            : attempts
                .map(
                  (a) =>
                    `#${a.attempt}: ${a.mediaKey ? 'recording' : ''}${a.mediaKey && a.textAnswer ? ' + ' : ''}${a.textAnswer ? 'typed' : ''}${!a.mediaKey && !a.textAnswer ? 'no answer' : ''}`,
                )
                .join('; ')}
        </dd>
      </dl>
      {q.note && <p className="notice">{q.note}</p>}
      {recording && (
        <>
          <h4>Recording and transcript{recording.transcriptSource ? ` (${recording.transcriptSource})` : ''}</h4>
          {recordings.length > 1 && (
            <div className="attempts" role="group" aria-label={`Attempts at question ${q.position + 1}`}>
              {recordings.map((r) => (
                <button
                  key={r.answerId}
                  type="button"
                  className="secondary"
                  aria-pressed={r.answerId === recording.answerId}
                  onClick={() => setChosenAttempt(r.attempt)}
                >
                  Attempt {r.attempt}
                </button>
              ))}
            </div>
          )}
          <RecordingPlayer key={recording.answerId} recording={recording} label={label} onUrlsExpired={onUrlsExpired} />
        </>
      )}
      {(!recording || recording.words.length === 0) && (
        <>
          <h4>Transcript{q.transcriptSource ? ` (${q.transcriptSource})` : ''}</h4>
          {q.transcript ? (
            <p style={{ whiteSpace: 'pre-wrap' }}>{q.transcript}</p>
          ) : (
            <p className="muted">No transcript.</p>
          )}
        </>
      )}
      {q.criteria.length > 0 && (
        <>
          <h4>Criteria</h4>
          {q.criteria.map((c) => (
            <CriterionReport key={c.scoreId} sessionId={sessionId} criterion={c} onChange={onChange} />
          ))}
        </>
      )}
      {(q.strengths.length > 0 || q.gaps.length > 0) && (
        <div className="grid">
          <List title="Strengths" items={q.strengths} />
          <List title="Gaps" items={q.gaps} />
        </div>
      )}
      {q.followUpQuestion && (
        <p>
          <strong>Suggested follow-up:</strong> {q.followUpQuestion}
        </p>
      )}
      {q.provenance && (
        <p className="muted">
          Scored by {q.provenance.provider} / {q.provenance.model}, prompt {q.provenance.promptVersion}, rubric{' '}
          {q.provenance.rubricVersion}.
        </p>
      )}
    </article>
  );
}

const QUESTION_STATUS: Record<ReportQuestion['status'], string> = {
  scored: 'Scored',
  not_answered: 'Not answered',
  untranscribed: 'Needs a person: the recording could not be transcribed',
  pending: 'Waiting for scoring',
};

function CriterionReport({
  sessionId,
  criterion: c,
  onChange,
}: {
  sessionId: string;
  criterion: ReportCriterion;
  onChange: (r: TSessionReport) => void;
}) {
  const { api } = useStaff();
  const [editing, setEditing] = useState(false);
  const [score, setScore] = useState(String(c.effectiveScore));
  const [reason, setReason] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const save = useAction(async () => {
    onChange(await api.overrideScore(sessionId, c.scoreId, { score: Number(score), reason: reason.trim() }));
    setEditing(false);
  });
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    const n = Number(score);
    if (!Number.isFinite(n) || n < 0 || n > 5) return setInvalid('A score from 0 to 5.');
    if (reason.trim().length < 3) return setInvalid('Give a reason for the change.');
    setInvalid(null);
    save.run();
  };
  return (
    <div className="panel" style={{ margin: '0.5rem 0' }}>
      <p style={{ margin: 0 }}>
        <strong>{c.name}</strong> (weight {c.weight}):{' '}
        <span data-testid="criterion-score">{fmt(c.effectiveScore)}</span> / 5
        {c.override && (
          <span className="muted">
            {' '}
            — changed from {fmt(c.score)} on {formatDate(c.override.at)}: “{c.override.reason}”
          </span>
        )}
      </p>
      <p style={{ margin: '0.3rem 0' }}>{c.rationale}</p>
      {c.evidence.length > 0 && (
        <div>
          <span className="muted">Evidence from the answer:</span>
          {c.evidence.map((quote, i) => (
            <blockquote key={i}>“{quote}”</blockquote>
          ))}
        </div>
      )}
      {editing ? (
        <form onSubmit={onSubmit} noValidate>
          <div className="grid">
            <Field label={`New score for ${c.name}`} error={invalid ?? undefined}>
              {(p) => (
                <input
                  {...p}
                  type="number"
                  min={0}
                  max={5}
                  step={0.5}
                  value={score}
                  onChange={(e) => setScore(e.target.value)}
                />
              )}
            </Field>
            <Field label={`Reason for changing ${c.name}`}>
              {(p) => <input {...p} type="text" value={reason} onChange={(e) => setReason(e.target.value)} />}
            </Field>
          </div>
          <ErrorMessage error={save.error} />
          <div className="actions">
            <button type="submit" disabled={save.busy}>
              Save override
            </button>
            <button type="button" className="secondary" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <button
          type="button"
          className="link"
          onClick={() => setEditing(true)}
          aria-label={`Override score for ${c.name}`}
        >
          Override score
        </button>
      )}
    </div>
  );
}

/**
 * The candidate sees strengths and areas to grow (never scores) only after a recruiter releases
 * them, which the server allows once the session is scored.
 */
function FeedbackRelease({ sessionId, scored }: { sessionId: string; scored: boolean }) {
  const { api } = useStaff();
  const feedback = useAsync(() => api.feedback(sessionId), [sessionId, scored]);
  const release = useAction(async () => {
    feedback.set(await api.releaseFeedback(sessionId));
  });
  const releasedAt = feedback.status === 'ok' ? feedback.data.releasedAt : null;
  return (
    <section aria-labelledby="feedback-heading">
      <h2 id="feedback-heading">Candidate feedback</h2>
      {releasedAt ? (
        <p className="success" role="status" data-testid="feedback-released">
          Released to the candidate on {formatDate(releasedAt)}. They see strengths and areas to grow, never scores.
        </p>
      ) : (
        <>
          <p className="muted" id="feedback-release-hint">
            {scored
              ? 'The candidate sees strengths and areas to grow, never scores, once you release them.'
              : 'Feedback can be released once the session is scored.'}
          </p>
          <ErrorMessage error={release.error} />
          <div className="actions">
            <button
              type="button"
              onClick={() => release.run()}
              disabled={!scored || release.busy || feedback.status === 'loading'}
              aria-describedby="feedback-release-hint"
            >
              {release.busy ? 'Releasing…' : 'Release feedback to the candidate'}
            </button>
          </div>
        </>
      )}
      {feedback.status === 'error' && <ErrorMessage error={feedback.error} />}
    </section>
  );
}

function List({ title, items }: { title: string; items: string[] }) {
  if (items.length === 0) return null;
  return (
    <div>
      <h4>{title}</h4>
      <ul>
        {items.map((s, i) => (
          <li key={i}>{s}</li>
        ))}
      </ul>
    </div>
  );
}

function FactRow({ label, value }: { label: string; value: string }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </>
  );
}

const fmt = (n: number | null) => (n === null ? '—' : n.toFixed(1));
const pct = (n: number) => `${Math.round(n * 100)}%`;

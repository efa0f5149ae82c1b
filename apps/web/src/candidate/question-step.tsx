import type { TSessionView } from '@parley/contracts';
import { useEffect, useRef, useState } from 'react';
import type { ApiClient } from '../api/api-client.ts';
import { ApiError, humanMessage } from '../api/errors.ts';
import type { RealtimeClient } from '../realtime/realtime-client.ts';
import { faceStatus, useFrameFeedback } from './frame-feedback.ts';
import { ErrorMessage, PageTitle, useAction } from '../ui/ui.tsx';
import { AnswerRecorder } from './media.ts';
import { PracticePlayback } from './practice-playback.tsx';
import { formatClock, questionActions, remainingMs, spokenDuration, type TCurrentQuestion } from './take-flow.ts';

interface UploadState {
  blob: Blob;
  loaded: number;
  total: number;
  busy: boolean;
  error: unknown;
}

export function QuestionStep({
  api,
  view,
  current,
  fetchedAt,
  stream,
  realtime,
  onView,
}: {
  api: ApiClient;
  view: TSessionView;
  current: TCurrentQuestion;
  fetchedAt: number;
  stream: MediaStream | null;
  realtime: RealtimeClient | null;
  onView: (view: TSessionView) => void;
}) {
  const now = useNow(250);
  const left = remainingMs(current, fetchedAt, now);
  const actions = questionActions(current, view.questionCount);
  const canRecord = view.consents.recording && stream !== null && AnswerRecorder.supported(stream);
  const [recorder, setRecorder] = useState<AnswerRecorder | null>(null);
  const [upload, setUpload] = useState<UploadState | null>(null);
  /** This attempt's practice recording, kept to be played back here. */
  const [practiceTake, setPracticeTake] = useState<Blob | null>(null);
  const [text, setText] = useState('');
  const [textError, setTextError] = useState<string | null>(null);
  const { feedback, connection } = useFrameFeedback(realtime, view.id);
  const [announcement, setAnnouncement] = useState('');
  const previewRef = useRef<HTMLVideoElement>(null);
  const attemptKey = `${current.position}-${current.attempt}`;
  const phaseKey = `${attemptKey}-${current.phase}`;
  const refreshedFor = useRef<string | null>(null);

  const refresh = async () => onView(await api.getSession(view.id));

  // A new attempt starts clean.
  useEffect(() => {
    setText('');
    setTextError(null);
    setUpload(null);
    setPracticeTake(null);
  }, [attemptKey]);

  useEffect(() => {
    if (previewRef.current && stream) {
      previewRef.current.srcObject = stream;
      void previewRef.current.play().catch(() => undefined);
    }
  }, [stream]);

  // The server moves phases on its clock: ask it once the local countdown runs out.
  useEffect(() => {
    if (left > 0 || (current.phase !== 'preparing' && current.phase !== 'answering')) return;
    if (refreshedFor.current === phaseKey) return;
    refreshedFor.current = phaseKey;
    if (current.phase === 'answering' && recorder) {
      void finishRecording();
      return;
    }
    refresh().catch(() => {
      // Try again on the next tick.
      refreshedFor.current = null;
    });
  }, [left, phaseKey]);

  // Spoken warnings as time runs low (the clock itself is not announced every second).
  useEffect(() => {
    if (current.phase !== 'answering') return;
    const s = Math.ceil(left / 1000);
    if (s === 30 || s === 10) setAnnouncement(`${s} seconds left to answer`);
  }, [left, current.phase]);

  useEffect(
    () => () => {
      void recorder?.stop();
    },
    [recorder],
  );

  const startRecording = useAction(async () => {
    if (!stream) return;
    if (current.phase === 'preparing') onView(await api.beginAnswer(view.id, current.position));
    setRecorder(new AnswerRecorder(stream));
    setAnnouncement('Recording started');
  });

  async function sendRecording(blob: Blob) {
    setUpload({ blob, loaded: 0, total: blob.size, busy: true, error: null });
    for (let attempt = 0; ; attempt++) {
      try {
        await api.uploadRecording(view.id, current.position, blob, {
          onProgress: (loaded, total) => setUpload((u) => (u ? { ...u, loaded, total } : u)),
        });
        setUpload(null);
        setAnnouncement('Your recording was saved');
        await refresh();
        return;
      } catch (err) {
        if (err instanceof ApiError && err.retryable && attempt < 2) {
          await new Promise((r) => setTimeout(r, 1500 * (attempt + 1)));
          continue;
        }
        setUpload({ blob, loaded: 0, total: blob.size, busy: false, error: err });
        return;
      }
    }
  }

  async function finishRecording() {
    const active = recorder;
    if (!active) return;
    setRecorder(null);
    const blob = await active.stop();
    if (current.isPractice) setPracticeTake(blob);
    setAnnouncement('Recording stopped, uploading');
    await sendRecording(blob);
  }

  const submitText = useAction(async () => {
    if (!text.trim()) {
      setTextError('Type your answer before submitting it.');
      return;
    }
    setTextError(null);
    onView(await api.submitText(view.id, current.position, text.trim()));
    setAnnouncement('Your typed answer was saved');
  });
  const beginNow = useAction(async () => onView(await api.beginAnswer(view.id, current.position)));
  const retake = useAction(async () => onView(await api.retake(view.id, current.position)));
  const next = useAction(async () => onView(await api.next(view.id, current.position)));
  const complete = useAction(async () => onView(await api.complete(view.id)));
  const actionError =
    startRecording.error ?? submitText.error ?? beginNow.error ?? retake.error ?? next.error ?? complete.error;

  const heading = current.isPractice
    ? 'Practice question'
    : `Question ${current.position + 1} of ${view.questionCount}`;
  const phaseLabel =
    current.phase === 'preparing'
      ? 'Preparation time left'
      : current.phase === 'answering'
        ? 'Time left to answer'
        : null;
  const speak = () => {
    if (!('speechSynthesis' in window)) return;
    window.speechSynthesis.cancel();
    const u = new SpeechSynthesisUtterance(current.text);
    u.lang = view.language;
    window.speechSynthesis.speak(u);
  };

  return (
    <>
      <PageTitle title={heading}>{heading}</PageTitle>
      {current.isPractice && (
        <p className="notice">This practice question is not scored. Use it to get used to the timers and recording.</p>
      )}
      <div className="sr-only" aria-live="assertive">
        {announcement}
      </div>
      <div className="stage">
        <div>
          <section aria-labelledby="question-label" className="panel">
            <h2 id="question-label" style={{ marginTop: 0 }} className="sr-only">
              The question
            </h2>
            <p className="question-text" data-testid="question-text">
              {current.text}
            </p>
            {'speechSynthesis' in window && (
              <button type="button" className="link" onClick={speak}>
                Read the question aloud
              </button>
            )}
          </section>
          {phaseLabel && (
            <div>
              <span id="timer-label">{phaseLabel}</span>
              <div
                className={`timer${current.phase === 'answering' && left < 15_000 ? ' low' : ''}`}
                role="timer"
                aria-labelledby="timer-label"
                aria-description={spokenDuration(left)}
              >
                {formatClock(left)}
              </div>
            </div>
          )}
          {current.retakesAllowed > 0 && (
            <p className="muted">
              Attempt {current.attempt} of {current.retakesAllowed + 1}.
            </p>
          )}

          {actions.canAnswer && !upload && (
            <>
              {current.phase === 'preparing' && !recorder && (
                <div className="actions">
                  <button type="button" className="secondary" onClick={() => beginNow.run()} disabled={beginNow.busy}>
                    I am ready — start the answer time now
                  </button>
                </div>
              )}
              {canRecord && (
                <div className="actions">
                  {recorder ? (
                    <>
                      <span role="status">
                        <span className="rec-dot" aria-hidden="true" />
                        Recording
                      </span>
                      <button type="button" onClick={() => void finishRecording()}>
                        Stop and submit recording
                      </button>
                    </>
                  ) : (
                    <button type="button" onClick={() => startRecording.run()} disabled={startRecording.busy}>
                      Start recording
                    </button>
                  )}
                </div>
              )}
              {!recorder && (
                <TypedAnswer
                  open={!canRecord}
                  text={text}
                  setText={setText}
                  error={textError}
                  busy={submitText.busy}
                  onSubmit={() => submitText.run()}
                />
              )}
            </>
          )}

          {upload && (
            <div className="panel" aria-live="polite">
              <label htmlFor="upload-progress">Uploading your recording</label>
              <progress id="upload-progress" max={upload.total || 1} value={upload.loaded} />
              <p className="muted" style={{ margin: 0 }}>
                {Math.round((upload.loaded / (upload.total || 1)) * 100)}%
              </p>
              {upload.error !== null && (
                <>
                  <div className="alert" role="alert">
                    {humanMessage(upload.error)}
                  </div>
                  <div className="actions">
                    {!(upload.error instanceof ApiError && upload.error.code === 'TIME_LIMIT_EXCEEDED') && (
                      <button type="button" onClick={() => void sendRecording(upload.blob)}>
                        Retry upload
                      </button>
                    )}
                    <button
                      type="button"
                      className="secondary"
                      onClick={() => {
                        setUpload(null);
                        setPracticeTake(null);
                        void refresh();
                      }}
                    >
                      Discard recording
                    </button>
                  </div>
                </>
              )}
              {upload.busy && upload.error === null && <p className="muted">Keep this page open until it finishes.</p>}
            </div>
          )}

          {current.phase === 'submitted' && (
            <p className="success" role="status">
              Your answer was saved{current.hasRecording ? ' (recording)' : current.hasText ? ' (typed)' : ''}.
            </p>
          )}
          {current.phase === 'closed' && (
            <p className="alert" role="status">
              The time for this question is over
              {current.hasRecording || current.hasText ? '' : ' and no answer was saved'}.
            </p>
          )}
          {practiceTake && !upload && <PracticePlayback recording={practiceTake} />}
          <ErrorMessage error={actionError} />
          {(actions.canRetake || actions.canNext || actions.canComplete) && (
            <div className="actions">
              {actions.canNext && (
                <button type="button" onClick={() => next.run()} disabled={next.busy}>
                  {current.isPractice ? 'Start the interview' : 'Next question'}
                </button>
              )}
              {actions.canComplete && (
                <button type="button" onClick={() => complete.run()} disabled={complete.busy}>
                  Finish the interview
                </button>
              )}
              {actions.canRetake && (
                <button type="button" className="secondary" onClick={() => retake.run()} disabled={retake.busy}>
                  Retake this question ({actions.retakesLeft} left)
                </button>
              )}
            </div>
          )}
        </div>
        <aside aria-label="Your camera">
          {stream && stream.getVideoTracks().length > 0 ? (
            <video ref={previewRef} className="preview" muted playsInline autoPlay aria-label="Camera preview" />
          ) : (
            <p className="muted">Your camera is off. You answer by typing.</p>
          )}
          {realtime && (
            <ul className="status-list">
              <li data-testid="connection-indicator">
                Connection:{' '}
                {connection === 'ready' ? '✓ connected' : connection === 'failed' ? '✗ lost' : 'connecting…'}
              </li>
              <li data-testid="face-indicator" aria-live="polite">
                Face: {faceStatus(feedback, connection)}
              </li>
            </ul>
          )}
        </aside>
      </div>
    </>
  );
}

function TypedAnswer(props: {
  open: boolean;
  text: string;
  setText: (t: string) => void;
  error: string | null;
  busy: boolean;
  onSubmit: () => void;
}) {
  const form = (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        props.onSubmit();
      }}
      noValidate
    >
      <div className="field">
        <label htmlFor="typed-answer">Your answer</label>
        <textarea
          id="typed-answer"
          rows={8}
          value={props.text}
          maxLength={20_000}
          onChange={(e) => props.setText(e.target.value)}
          aria-invalid={Boolean(props.error)}
          aria-describedby={props.error ? 'typed-answer-error' : undefined}
        />
        {props.error && (
          <p className="error" id="typed-answer-error">
            {props.error}
          </p>
        )}
      </div>
      <button type="submit" disabled={props.busy}>
        {props.busy ? 'Saving…' : 'Submit typed answer'}
      </button>
    </form>
  );
  if (props.open) return form;
  return (
    <details>
      <summary>Type your answer instead</summary>
      {form}
    </details>
  );
}

function useNow(everyMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

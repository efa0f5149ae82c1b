import type { TSessionView } from '@parley/contracts';
import { useState, type FormEvent } from 'react';
import type { ApiClient } from '../api/api-client.ts';
import { ErrorMessage, PageTitle, useAction } from '../ui/ui.tsx';

/** Version of the notice text below; stored with the consents. Change it when the text changes. */
export const NOTICE_VERSION = '2026-11';

export function NoticeStep({
  api,
  view,
  onView,
}: {
  api: ApiClient;
  view: TSessionView;
  onView: (view: TSessionView) => void;
}) {
  const [read, setRead] = useState(false);
  const [recording, setRecording] = useState(false);
  const [analysis, setAnalysis] = useState(false);
  const [showRequired, setShowRequired] = useState(false);
  const analysisOffered = view.emotionPolicy !== 'off';
  const submit = useAction(async () => {
    onView(
      await api.consent(view.id, {
        aiNotice: true,
        recording,
        videoAnalysis: analysisOffered && analysis,
        textVersion: NOTICE_VERSION,
      }),
    );
  });
  const withdraw = useAction(async () => {
    if (!window.confirm('Withdraw from this interview? You will not be able to take it afterwards.')) return;
    onView(await api.abandon(view.id));
  });

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (!read) {
      setShowRequired(true);
      return;
    }
    submit.run();
  };

  return (
    <>
      <PageTitle title="Before you start">{view.title}</PageTitle>
      <p>
        This interview has {view.questionCount} question{view.questionCount === 1 ? '' : 's'}. Each question has time to
        prepare and then time to answer. You can answer by recording yourself or by typing.
      </p>
      <section className="notice" aria-labelledby="ai-notice-heading">
        <h2 id="ai-notice-heading" style={{ marginTop: 0 }}>
          How artificial intelligence is used
        </h2>
        <ul>
          <li>
            Your answers are transcribed and assessed by an AI system against criteria the employer wrote. A person at
            the employer reviews the results and makes every decision; the AI does not decide.
          </li>
          <li>Every score is shown to the recruiter with the parts of your answer it is based on.</li>
          {analysisOffered ? (
            <li>
              If you agree, your video is analysed while you answer (whether a face is visible, where you look, blinks
              and facial expressions), and at the camera check to tell you whether your face can be seen (that check is
              not part of your results). This is optional: declining it does not stop you from taking the interview.
            </li>
          ) : (
            <li>Your video is not analysed in this interview.</li>
          )}
          <li>You can ask the employer for a human review, and for your data to be deleted.</li>
        </ul>
      </section>
      <form onSubmit={onSubmit} noValidate>
        <fieldset>
          <legend>Your choices</legend>
          <div className="check">
            <input
              id="consent-notice"
              type="checkbox"
              checked={read}
              onChange={(e) => setRead(e.target.checked)}
              aria-invalid={showRequired && !read}
              aria-describedby={showRequired && !read ? 'consent-notice-error' : undefined}
              required
            />
            <label htmlFor="consent-notice">I have read how AI is used in this interview (required)</label>
          </div>
          {showRequired && !read && (
            <p className="error" id="consent-notice-error" style={{ color: 'var(--danger)' }}>
              Please confirm that you have read the notice.
            </p>
          )}
          <div className="check">
            <input
              id="consent-recording"
              type="checkbox"
              checked={recording}
              onChange={(e) => setRecording(e.target.checked)}
              aria-describedby="consent-recording-hint"
            />
            <div>
              <label htmlFor="consent-recording">I agree that my answers are recorded (camera and microphone)</label>
              <p className="muted" id="consent-recording-hint" style={{ margin: 0 }}>
                Optional. Without it, you answer every question by typing.
              </p>
            </div>
          </div>
          {analysisOffered && (
            <div className="check">
              <input
                id="consent-analysis"
                type="checkbox"
                checked={analysis}
                onChange={(e) => setAnalysis(e.target.checked)}
                aria-describedby="consent-analysis-hint"
              />
              <div>
                <label htmlFor="consent-analysis">I agree that my video is analysed while I answer</label>
                <p className="muted" id="consent-analysis-hint" style={{ margin: 0 }}>
                  Optional and separate from recording. Declining it has no effect on whether you can continue.
                </p>
              </div>
            </div>
          )}
        </fieldset>
        <ErrorMessage error={submit.error ?? withdraw.error} />
        <div className="actions">
          <button type="submit" disabled={submit.busy}>
            {submit.busy ? 'Saving…' : 'Continue'}
          </button>
          <button type="button" className="link" onClick={() => withdraw.run()} disabled={withdraw.busy}>
            I do not want to take this interview
          </button>
        </div>
      </form>
    </>
  );
}

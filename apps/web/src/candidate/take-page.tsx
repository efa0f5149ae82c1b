import type { TSessionView } from '@parley/contracts';
import type { ApiClient } from '../api/api-client.ts';
import { useEffect, useMemo, useRef, useState } from 'react';
import { ApiError, SIGNED_OUT_CODES } from '../api/errors.ts';
import type { RealtimeClient } from '../realtime/realtime-client.ts';
import { navigate } from '../router/router.tsx';
import {
  CANDIDATE_SESSION_KEY,
  CANDIDATE_TOKENS_KEY,
  createApi,
  createRealtime,
  reconnectWhenOnline,
} from '../services.ts';
import { AsyncView, ErrorMessage, ErrorState, Loading, PageTitle, useAction, useAsync } from '../ui/ui.tsx';
import { DeviceCheck } from './device-check.tsx';
import { FrameStreamer, stopStream } from './media.ts';
import { NoticeStep } from './notice-step.tsx';
import { QuestionStep } from './question-step.tsx';
import { needsMedia, streamsFrames, takeStep } from './take-flow.ts';

type Load =
  | { status: 'loading' }
  | { status: 'no-link' }
  | { status: 'error'; error: unknown }
  | { status: 'ok'; view: TSessionView; fetchedAt: number };

const STEPS = ['Consent', 'Camera check', 'Questions', 'Done'] as const;

/**
 * The candidate's interview, from the invitation link (`/take#token=…`) to the end. The server
 * holds where the candidate is, so a reload resumes: the link's tokens are kept for this browser
 * and the session is read back.
 */
export function TakePage() {
  const api = useMemo(() => createApi(CANDIDATE_TOKENS_KEY), []);
  const [load, setLoad] = useState<Load>({ status: 'loading' });
  const [stream, setStream] = useState<MediaStream | null>(null);
  const [mediaSkipped, setMediaSkipped] = useState(false);
  const [realtime, setRealtime] = useState<RealtimeClient | null>(null);
  const resumed = useRef(false);

  const show = (view: TSessionView) => setLoad({ status: 'ok', view, fetchedAt: Date.now() });

  useEffect(() => {
    let cancelled = false;
    const token = new URLSearchParams(window.location.hash.slice(1)).get('token');
    const stored = window.localStorage.getItem(CANDIDATE_SESSION_KEY);
    const open = async (): Promise<TSessionView | null> => {
      if (token) {
        try {
          const { sessionId } = await api.acceptCandidateInvitation(token);
          window.localStorage.setItem(CANDIDATE_SESSION_KEY, sessionId);
          // The link works once: keep it out of history and away from a reload.
          navigate('/take', { replace: true });
          return await api.getSession(sessionId);
        } catch (err) {
          // Reopening a used link in the browser that used it: carry on with what it gave us.
          if (!(err instanceof ApiError && err.code === 'INVITATION_USED' && stored && api.signedIn)) throw err;
          navigate('/take', { replace: true });
        }
      }
      if (!stored || !api.signedIn) return null;
      resumed.current = true;
      return api.getSession(stored);
    };
    open().then(
      (view) => {
        if (cancelled) return;
        if (view) show(view);
        else setLoad({ status: 'no-link' });
      },
      (error: unknown) => {
        if (cancelled) return;
        if (error instanceof ApiError && SIGNED_OUT_CODES.has(error.code)) {
          window.localStorage.removeItem(CANDIDATE_SESSION_KEY);
        }
        setLoad({ status: 'error', error });
      },
    );
    return () => {
      cancelled = true;
    };
  }, [api]);

  const view = load.status === 'ok' ? load.view : null;
  // The socket exists only while frames may be streamed (consent + policy, from the device check
  // to the end of the interview); a candidate who declined video analysis never opens one. One
  // socket serves both, so the frame numbering and the subscription carry over into the interview.
  const live = view !== null && streamsFrames(view) && !mediaSkipped;
  const sessionId = view?.id;
  useEffect(() => {
    if (!live || !sessionId) return;
    const client = createRealtime(api);
    const offOnline = reconnectWhenOnline(client);
    client.start();
    client.startFrames(sessionId);
    client.subscribe(sessionId);
    setRealtime(client);
    return () => {
      offOnline();
      client.stop();
      setRealtime(null);
    };
  }, [live, sessionId, api]);

  // In progress, this page streams the camera the device check handed over (the check streams its
  // own preview while it is shown).
  const answering = view?.status === 'in_progress' && stream !== null && stream.getVideoTracks().length > 0;
  useEffect(() => {
    if (!answering || !realtime || !stream) return;
    const streamer = new FrameStreamer(stream, realtime);
    streamer.start();
    return () => streamer.stop();
  }, [answering, realtime, stream]);

  const step = view ? takeStep(view, stream !== null || mediaSkipped) : null;

  // Devices off once the interview is over.
  useEffect(() => {
    if (step === 'done' || step === 'closed') {
      stopStream(stream);
    }
  }, [step, stream]);
  useEffect(() => () => stopStream(stream), [stream]);

  if (load.status === 'loading') {
    return (
      <main className="narrow" id="main">
        <Loading label="your interview" />
      </main>
    );
  }
  if (load.status === 'no-link') {
    return (
      <main className="narrow" id="main">
        <PageTitle title="Interview">Open your invitation link</PageTitle>
        <p>
          To take an interview, open the link in the invitation e-mail you received. If you already started, open it
          again in the same browser to continue.
        </p>
      </main>
    );
  }
  if (load.status === 'error') {
    return (
      <main className="narrow" id="main">
        <PageTitle title="Interview">We could not open your interview</PageTitle>
        <ErrorState error={load.error} />
      </main>
    );
  }

  const v = load.view;
  const stepIndex =
    step === 'notice' ? 0 : step === 'device-check' || step === 'start' ? 1 : step === 'question' ? 2 : 3;
  return (
    <main id="main">
      <nav aria-label="Progress">
        <ol className="steps">
          {STEPS.map((label, i) => (
            <li key={label} aria-current={i === stepIndex ? 'step' : undefined}>
              {i + 1}. {label}
            </li>
          ))}
        </ol>
      </nav>
      {step === 'notice' && <NoticeStep api={api} view={v} onView={show} />}
      {step === 'device-check' && (
        <DeviceCheck
          audio={v.consents.recording}
          video={needsMedia(v)}
          resuming={v.status === 'in_progress'}
          sessionId={v.id}
          realtime={streamsFrames(v) ? realtime : null}
          analysed={streamsFrames(v)}
          onReady={setStream}
          onSkip={() => setMediaSkipped(true)}
        />
      )}
      {step === 'start' && <StartStep view={v} onStart={() => api.startSession(v.id).then(show)} typedOnly={!stream} />}
      {step === 'question' && v.current && (
        <QuestionStep
          api={api}
          view={v}
          current={v.current}
          fetchedAt={load.fetchedAt}
          stream={stream}
          realtime={realtime}
          onView={show}
        />
      )}
      {step === 'question' && !v.current && <Loading label="the question" />}
      {step === 'done' && (
        <>
          <PageTitle title="Thank you">Thank you — you have finished</PageTitle>
          <p className="success" role="status">
            Your answers to “{v.title}” were submitted. You can close this page.
          </p>
          <p>The employer will review your interview and contact you about next steps.</p>
          <Feedback api={api} sessionId={v.id} />
        </>
      )}
      {step === 'closed' && (
        <>
          <PageTitle title="Interview closed">This interview is closed</PageTitle>
          <p>
            {v.status === 'expired'
              ? 'The deadline for this interview has passed.'
              : 'This interview was withdrawn and can no longer be taken.'}{' '}
            If you think this is a mistake, contact the employer.
          </p>
        </>
      )}
    </main>
  );
}

function Feedback({ api, sessionId }: { api: ApiClient; sessionId: string }) {
  const feedback = useAsync(() => api.releasedFeedback(sessionId), [api, sessionId]);
  return (
    <section aria-labelledby="feedback-heading">
      <h2 id="feedback-heading">Your feedback</h2>
      <AsyncView value={feedback} label="your feedback">
        {(f) =>
          f === null ? (
            <p className="muted">Your feedback is not available yet. Come back to this page later.</p>
          ) : (
            <>
              <FeedbackList title="Strengths" items={f.strengths} empty="No particular strengths were noted." />
              <FeedbackList title="Areas to grow" items={f.areasToGrow} empty="No particular areas were noted." />
            </>
          )
        }
      </AsyncView>
    </section>
  );
}

function FeedbackList({ title, items, empty }: { title: string; items: string[]; empty: string }) {
  return (
    <>
      <h3>{title}</h3>
      {items.length === 0 ? (
        <p className="muted">{empty}</p>
      ) : (
        <ul>
          {items.map((item, i) => (
            <li key={i}>{item}</li>
          ))}
        </ul>
      )}
    </>
  );
}

function StartStep({
  view,
  onStart,
  typedOnly,
}: {
  view: TSessionView;
  onStart: () => Promise<void>;
  typedOnly: boolean;
}) {
  const start = useAction(onStart);
  return (
    <>
      <PageTitle title="Ready to start">Ready to start</PageTitle>
      <ul>
        <li>
          {view.questionCount} question{view.questionCount === 1 ? '' : 's'}. If the first is a practice question, it is
          not scored.
        </li>
        <li>
          Each question shows its text, then a preparation timer, then an answer timer. The timers keep running if you
          reload the page.
        </li>
        <li>{typedOnly ? 'You will type your answers.' : 'You can record your answer or type it instead.'}</li>
        {view.expiresAt && <li>Finish before {new Date(view.expiresAt).toLocaleString()}.</li>}
      </ul>
      <ErrorMessage error={start.error} />
      <div className="actions">
        <button type="button" onClick={() => start.run()} disabled={start.busy}>
          {start.busy ? 'Starting…' : 'Start the interview'}
        </button>
      </div>
    </>
  );
}

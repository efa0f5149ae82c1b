import type { TEmotionAnalyzed, TSessionStatus } from '@parley/contracts';
import { useEffect, useRef, useState } from 'react';
import { useStaff } from '../auth/staff-context.tsx';
import type { RealtimeState } from '../realtime/realtime-client.ts';
import { createRealtime, reconnectWhenOnline } from '../services.ts';
import { SESSION_STATUS_LABELS } from '../ui/ui.tsx';
import { TimelineChart } from './timeline-chart.tsx';

const KEEP = 900;

/** A session as it happens: status, current question, and each analysed frame as it arrives. */
export function LiveView({
  sessionId,
  questionCount,
  onStatus,
}: {
  sessionId: string;
  questionCount: number;
  onStatus: (status: TSessionStatus) => void;
}) {
  const { api } = useStaff();
  const [connection, setConnection] = useState<RealtimeState>('idle');
  const [state, setState] = useState<{ status: TSessionStatus; currentPosition: number } | null>(null);
  const [results, setResults] = useState<TEmotionAnalyzed[]>([]);
  const [error, setError] = useState<string | null>(null);
  // A callback prop; kept in a ref so that a new identity does not re-subscribe (and drop the timeline).
  const statusRef = useRef(onStatus);
  statusRef.current = onStatus;

  useEffect(() => {
    const client = createRealtime(api);
    const offOnline = reconnectWhenOnline(client);
    const offState = client.onState(setConnection);
    const offMessage = client.onMessage((m) => {
      if (m.type === 'session.state' && m.sessionId === sessionId) {
        setState({ status: m.status, currentPosition: m.currentPosition });
        statusRef.current(m.status);
      } else if (m.type === 'emotion' && m.sessionId === sessionId) {
        setResults((r) => [...r.slice(-(KEEP - 1)), m.result]);
      } else if (m.type === 'error' && m.sessionId === sessionId) {
        setError(m.message);
      }
    });
    client.subscribe(sessionId);
    client.start();
    return () => {
      offMessage();
      offState();
      offOnline();
      client.stop();
    };
  }, [api, sessionId]);

  const latest = results.at(-1);
  const start = results[0]?.capturedAt ?? 0;
  const points = results.map((r) => ({
    atMs: r.capturedAt - start,
    facePresent: r.faceDetected ? 1 : 0,
    blinks: r.sessionBlinks,
    dominant: r.emotion,
  }));

  return (
    <section aria-labelledby="live-heading" className="panel">
      <h2 id="live-heading" style={{ marginTop: 0 }}>
        Live view
      </h2>
      <dl className="facts" aria-live="polite">
        <dt>Connection</dt>
        <dd data-testid="live-connection">
          {connection === 'ready' ? 'Live' : connection === 'failed' ? 'Disconnected' : 'Connecting…'}
        </dd>
        <dt>Status</dt>
        <dd data-testid="live-status">{state ? SESSION_STATUS_LABELS[state.status] : '—'}</dd>
        <dt>Question</dt>
        <dd>{state && state.status === 'in_progress' ? `${state.currentPosition + 1} of ${questionCount}` : '—'}</dd>
        <dt>Frames analysed</dt>
        <dd data-testid="live-frames">{results.length}</dd>
        {latest && (
          <>
            <dt>Face</dt>
            <dd>
              {latest.faceCount > 1 ? `${latest.faceCount} faces` : latest.faceDetected ? 'Visible' : 'Not visible'}
            </dd>
            <dt>Expression</dt>
            <dd>
              {latest.emotion ?? '—'}
              {latest.confidence !== null ? ` (${Math.round(latest.confidence * 100)}%)` : ''}
            </dd>
            <dt>Blinks</dt>
            <dd>{latest.sessionBlinks}</dd>
            <dt>Looking away</dt>
            <dd>{latest.gazeAway === null ? '—' : latest.gazeAway ? 'Yes' : 'No'}</dd>
          </>
        )}
      </dl>
      {error && (
        <p className="alert" role="alert">
          {error}
        </p>
      )}
      <p className="muted">Video insights are shown apart from the score and only with the candidate&apos;s consent.</p>
      <TimelineChart points={points} title="Live face presence and blinks" blinksLabel="blinks so far" />
    </section>
  );
}

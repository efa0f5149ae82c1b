import type { TWsServerMessage } from '@parley/contracts';
import { useEffect, useState } from 'react';
import type { RealtimeClient, RealtimeState } from '../realtime/realtime-client.ts';

export type TFrameFeedback = Extract<TWsServerMessage, { type: 'frame.feedback' }>;

/**
 * The server's newest answer about the candidate's picture (`frame.feedback`, from the emotion
 * consumer's analysis of a streamed frame) and the connection state, for the face indicators.
 */
export function useFrameFeedback(
  realtime: RealtimeClient | null,
  sessionId: string,
): { feedback: TFrameFeedback | null; connection: RealtimeState | null } {
  const [feedback, setFeedback] = useState<TFrameFeedback | null>(null);
  const [connection, setConnection] = useState<RealtimeState | null>(realtime?.currentState ?? null);
  useEffect(() => {
    setConnection(realtime?.currentState ?? null);
    if (!realtime) return;
    const offMessage = realtime.onMessage((m) => {
      // Analyses can finish out of order across consumers; an older frame's answer never replaces a newer one.
      if (m.type === 'frame.feedback' && m.sessionId === sessionId) {
        setFeedback((previous) => (previous && previous.seq > m.seq ? previous : m));
      }
    });
    const offState = realtime.onState(setConnection);
    return () => {
      offMessage();
      offState();
    };
  }, [realtime, sessionId]);
  return { feedback, connection };
}

/** What the face indicator says about the server's newest answer. */
export function faceStatus(feedback: TFrameFeedback | null, connection: RealtimeState | null): string {
  if (feedback === null) {
    if (connection === 'failed') return '✗ the check is unavailable (connection lost)';
    return connection === 'ready' ? 'checking…' : 'connecting to the server…';
  }
  if (feedback.faceCount > 1) return 'more than one face is visible';
  return feedback.faceDetected ? '✓ face detected' : '✗ we cannot see your face — centre yourself';
}

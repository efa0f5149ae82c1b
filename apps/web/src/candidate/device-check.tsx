import { useEffect, useRef, useState } from 'react';
import type { RealtimeClient } from '../realtime/realtime-client.ts';
import { PageTitle } from '../ui/ui.tsx';
import { faceStatus, useFrameFeedback } from './frame-feedback.ts';
import { FrameStreamer, openDevices, pictureBrightness, stopStream, watchAudioLevel } from './media.ts';

/** The check needs a few answers a second, not the interview's full rate. */
const CHECK_FRAMES_PER_SEC = 2;

interface FaceDetectorLike {
  detect(image: HTMLVideoElement): Promise<unknown[]>;
}
declare global {
  interface Window {
    FaceDetector?: new (opts?: { fastMode?: boolean; maxDetectedFaces?: number }) => FaceDetectorLike;
  }
}

/**
 * Camera and microphone check with a live preview. The stream it opens is handed to the rest of
 * the interview (`onReady`), so the candidate is asked for permission once.
 *
 * "Face detected" is the server's answer: with consent to video analysis, the preview is streamed
 * over the session's socket (`realtime`) and the emotion consumer's result comes back as
 * `frame.feedback`, the same check as during the interview. Without that consent nothing leaves
 * the device: the browser's own FaceDetector answers where it exists, and the indicator says so.
 * The candidate may continue either way; the indicator informs, it does not gate.
 */
export function DeviceCheck({
  audio,
  video,
  resuming,
  sessionId,
  realtime,
  analysed,
  onReady,
  onSkip,
}: {
  audio: boolean;
  video: boolean;
  resuming: boolean;
  sessionId: string;
  /** The session's socket; null when frames may not be sent (or before it exists). */
  realtime: RealtimeClient | null;
  /** The candidate consented to video analysis under a policy that allows it. */
  analysed: boolean;
  onReady: (stream: MediaStream) => void;
  onSkip: () => void;
}) {
  const [stream, setStream] = useState<MediaStream | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  const [level, setLevel] = useState(0);
  const [heard, setHeard] = useState(false);
  const [brightness, setBrightness] = useState<number | null>(null);
  const [face, setFace] = useState<boolean | null>(null);
  const videoRef = useRef<HTMLVideoElement>(null);
  const handedOver = useRef(false);
  const server = useFrameFeedback(realtime, sessionId);

  useEffect(() => {
    if (!realtime || !stream || stream.getVideoTracks().length === 0) return;
    const streamer = new FrameStreamer(stream, realtime, { maxFramesPerSec: CHECK_FRAMES_PER_SEC });
    streamer.start();
    return () => streamer.stop();
  }, [realtime, stream]);

  useEffect(() => {
    let cancelled = false;
    let opened: MediaStream | null = null;
    setError(null);
    openDevices({ audio, video }).then(
      (s) => {
        if (cancelled) return stopStream(s);
        opened = s;
        setStream(s);
      },
      (e: unknown) => !cancelled && setError(e),
    );
    return () => {
      cancelled = true;
      if (!handedOver.current) stopStream(opened);
    };
  }, [audio, video, attempt]);

  useEffect(() => {
    if (!stream) return;
    if (videoRef.current) {
      videoRef.current.srcObject = stream;
      void videoRef.current.play().catch(() => undefined);
    }
    const stopLevel = watchAudioLevel(stream, (l) => {
      setLevel(l);
      if (l > 0.08) setHeard(true);
    });
    const canvas = document.createElement('canvas');
    // Only when the server does not check: one answer per indicator, and the server's is the one that counts.
    const detector =
      !analysed && window.FaceDetector ? new window.FaceDetector({ fastMode: true, maxDetectedFaces: 2 }) : null;
    const timer = setInterval(() => {
      const el = videoRef.current;
      if (!el) return;
      setBrightness(pictureBrightness(el, canvas));
      detector
        ?.detect(el)
        .then((faces) => setFace(faces.length > 0))
        .catch(() => setFace(null));
    }, 700);
    return () => {
      stopLevel();
      clearInterval(timer);
    };
  }, [stream, analysed]);

  const cameraOk = !video || (stream?.getVideoTracks().some((t) => t.readyState === 'live') ?? false);
  const micOk = !audio || (stream?.getAudioTracks().some((t) => t.readyState === 'live') ?? false);
  const pictureOk = !video || (brightness !== null && brightness > 40);

  return (
    <>
      <PageTitle title="Camera and microphone check">Camera and microphone check</PageTitle>
      {resuming && (
        <p className="notice">Welcome back. Turn your camera and microphone on again to continue where you left off.</p>
      )}
      <p>
        Check that you can see yourself clearly{audio ? ' and that the sound meter moves when you speak' : ''}. Sit
        facing a light, with your face in the middle of the picture.
      </p>
      {error ? (
        <>
          <div className="alert" role="alert">
            {error instanceof Error ? error.message : 'The camera or microphone could not be started.'}
          </div>
          <div className="actions">
            <button type="button" onClick={() => setAttempt((a) => a + 1)}>
              Try again
            </button>
            <button type="button" className="secondary" onClick={onSkip}>
              Continue without camera (type my answers)
            </button>
          </div>
        </>
      ) : (
        <div className="stage">
          <div>
            {video ? (
              <video ref={videoRef} className="preview" muted playsInline autoPlay aria-label="Camera preview" />
            ) : (
              <p className="muted">Only the microphone is used.</p>
            )}
          </div>
          <div>
            <h2 style={{ marginTop: 0 }}>Checks</h2>
            <ul className="status-list" aria-live="polite">
              {!stream && <li>Starting the camera and microphone… Allow access when the browser asks.</li>}
              {stream && video && <li>Camera: {cameraOk ? '✓ working' : '✗ not working'}</li>}
              {stream && video && (
                <li>
                  Picture:{' '}
                  {brightness === null ? 'waiting…' : pictureOk ? '✓ bright enough' : '✗ too dark — add some light'}
                </li>
              )}
              {stream && video && analysed && (
                <li data-testid="face-indicator" data-source="server">
                  Face: {faceStatus(server.feedback, server.connection)}
                </li>
              )}
              {stream && video && !analysed && (
                <li data-testid="face-indicator" data-source={face === null ? 'none' : 'local'}>
                  Face:{' '}
                  {face === null
                    ? 'not checked — you chose not to have your video analysed, so check the preview yourself'
                    : face
                      ? '✓ face detected (checked on this device only)'
                      : '✗ no face detected (checked on this device only) — centre yourself'}
                </li>
              )}
              {stream && audio && (
                <li>Microphone: {micOk ? (heard ? '✓ we can hear you' : 'say something…') : '✗ not working'}</li>
              )}
            </ul>
            {stream && audio && (
              <div>
                <span id="mic-level-label">Microphone level</span>
                <div
                  className="meter"
                  role="meter"
                  aria-labelledby="mic-level-label"
                  aria-valuemin={0}
                  aria-valuemax={100}
                  aria-valuenow={Math.round(level * 100)}
                >
                  <span style={{ width: `${Math.round(level * 100)}%` }} />
                </div>
              </div>
            )}
            {video && analysed && stream && (
              <p className="muted">
                The face check is done by our server on a few pictures from your camera, as you agreed. These pictures
                are not part of your results.
              </p>
            )}
            <div className="actions">
              <button
                type="button"
                disabled={!stream || !cameraOk || !micOk}
                onClick={() => {
                  if (!stream) return;
                  handedOver.current = true;
                  onReady(stream);
                }}
              >
                My camera and microphone work
              </button>
              <button type="button" className="link" onClick={onSkip}>
                Continue without camera (type my answers)
              </button>
            </div>
          </div>
        </div>
      )}
    </>
  );
}

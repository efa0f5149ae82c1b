import { useEffect, useRef, useState } from 'react';
import { PageTitle } from '../ui/ui.tsx';
import { openDevices, pictureBrightness, stopStream, watchAudioLevel } from './media.ts';

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
 */
export function DeviceCheck({
  audio,
  video,
  resuming,
  onReady,
  onSkip,
}: {
  audio: boolean;
  video: boolean;
  resuming: boolean;
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
    const detector = window.FaceDetector ? new window.FaceDetector({ fastMode: true, maxDetectedFaces: 2 }) : null;
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
  }, [stream]);

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
              {stream && video && face !== null && (
                <li data-testid="face-indicator">
                  Face: {face ? '✓ face detected' : '✗ no face detected — centre yourself'}
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
            {video && face === null && stream && (
              <p className="muted">Whether your face is visible is also checked during the practice question.</p>
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

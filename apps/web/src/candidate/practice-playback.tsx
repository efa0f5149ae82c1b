import { useEffect, useState } from 'react';
import { revealDuration } from './media.ts';

/**
 * The practice answer played back from this browser's copy of the recording. It is uploaded like
 * any answer, but recordings stream from the server to staff only, and the copy here is all the
 * candidate needs to check that they can be seen and heard before the questions that count.
 */
export function PracticePlayback({ recording }: { recording: Blob }) {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    const objectUrl = URL.createObjectURL(recording);
    setUrl(objectUrl);
    return () => URL.revokeObjectURL(objectUrl);
  }, [recording]);
  if (!url) return null;
  const media = {
    src: url,
    controls: true,
    preload: 'metadata',
    'aria-label': 'Your practice recording',
    'aria-describedby': 'practice-playback-hint',
    'data-testid': 'practice-playback',
    onLoadedMetadata: (e: { currentTarget: HTMLMediaElement }) => revealDuration(e.currentTarget),
  } as const;
  return (
    <section className="panel" aria-labelledby="practice-playback-heading">
      <h2 id="practice-playback-heading" style={{ marginTop: 0 }}>
        Check your practice answer
      </h2>
      <p className="muted" id="practice-playback-hint">
        Play it back to check that you can be seen and heard before the questions that count.
      </p>
      {recording.type.startsWith('audio/') ? (
        <audio className="playback" {...media} />
      ) : (
        <video className="recording" playsInline {...media} />
      )}
    </section>
  );
}

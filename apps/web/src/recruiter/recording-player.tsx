import type { TRecording } from '@parley/contracts';
import { useEffect, useRef, useState } from 'react';
import { formatPosition, wordIndexAt } from './transcript-sync.ts';

/**
 * One answer's recording beside its transcript: the word being spoken is highlighted while it
 * plays, and choosing a word seeks there. The `<video>` streams from the short-lived media URL
 * of the recordings list (see `MediaTokens` on the server for why a URL and not a bearer fetch);
 * when a URL has expired, `onUrlsExpired` fetches fresh ones and playback resumes where it was.
 */
export function RecordingPlayer({
  recording,
  label,
  onUrlsExpired,
}: {
  recording: TRecording;
  /** What the recording is, for the video's accessible name. */
  label: string;
  onUrlsExpired: () => void;
}) {
  const videoRef = useRef<HTMLVideoElement>(null);
  const transcriptRef = useRef<HTMLDivElement>(null);
  const { words } = recording;
  // The lit word's index, not the time: state that changes a few times a second (per word), so the
  // transcript re-renders per word and not on every animation frame while the video plays.
  const [current, setCurrent] = useState(() => wordIndexAt(words, 0));
  const wordsRef = useRef(words);
  wordsRef.current = words;
  const [playing, setPlaying] = useState(false);
  const [failed, setFailed] = useState(false);
  const resumeAtMs = useRef<number | null>(null);
  /** URLs were renewed after an error and nothing has loaded since: a second error is final. */
  const renewed = useRef(false);

  useEffect(() => {
    const video = videoRef.current;
    if (!video) return;
    let frame = 0;
    const showAt = (ms: number) => setCurrent(wordIndexAt(wordsRef.current, ms));
    // timeupdate fires a few times a second; while playing, follow every animation frame instead.
    const follow = () => {
      showAt(video.currentTime * 1000);
      if (!video.paused && !video.ended) frame = requestAnimationFrame(follow);
    };
    const onPlay = () => {
      setPlaying(true);
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(follow);
    };
    const onPause = () => setPlaying(false);
    const onTime = () => showAt(video.currentTime * 1000);
    video.addEventListener('play', onPlay);
    video.addEventListener('pause', onPause);
    video.addEventListener('ended', onPause);
    video.addEventListener('timeupdate', onTime);
    video.addEventListener('seeked', onTime);
    return () => {
      cancelAnimationFrame(frame);
      video.removeEventListener('play', onPlay);
      video.removeEventListener('pause', onPause);
      video.removeEventListener('ended', onPause);
      video.removeEventListener('timeupdate', onTime);
      video.removeEventListener('seeked', onTime);
    };
  }, []);

  // Keep the lit word in view inside the transcript box while playing (never scroll the page).
  useEffect(() => {
    if (!playing || current < 0) return;
    const box = transcriptRef.current;
    const word = box?.querySelector<HTMLElement>(`[data-index="${current}"]`);
    if (!box || !word) return;
    const top = word.offsetTop - box.offsetTop;
    if (top < box.scrollTop || top + word.offsetHeight > box.scrollTop + box.clientHeight) {
      box.scrollTop = Math.max(0, top - box.clientHeight / 3);
    }
  }, [current, playing]);

  const seek = (ms: number) => {
    const video = videoRef.current;
    if (!video) return;
    video.currentTime = ms / 1000;
    setCurrent(wordIndexAt(words, ms));
  };

  const onError = () => {
    const video = videoRef.current;
    // An expired URL answers 401, which the element reports as an error: renew the URLs once. If
    // the fresh URL fails too, the problem is not the URL (an unplayable file): say so, no loop.
    if (!renewed.current) {
      renewed.current = true;
      resumeAtMs.current = video ? video.currentTime * 1000 : null;
      onUrlsExpired();
      return;
    }
    setFailed(true);
  };

  const onLoadedMetadata = () => {
    renewed.current = false;
    setFailed(false);
    if (resumeAtMs.current !== null && resumeAtMs.current > 0) seek(resumeAtMs.current);
    resumeAtMs.current = null;
  };

  return (
    <div className="player">
      <div>
        <video
          ref={videoRef}
          className="recording"
          src={recording.url}
          poster={recording.posterUrl ?? undefined}
          controls
          preload="metadata"
          playsInline
          aria-label={`Recording of ${label}`}
          data-testid="recording-video"
          onError={onError}
          onLoadedMetadata={onLoadedMetadata}
        />
        {failed && (
          <p className="alert" role="alert">
            The recording could not be played. Reload the page to try again.
          </p>
        )}
        <p className="muted" style={{ margin: '0.25rem 0 0' }}>
          {recording.source === 'transcoded'
            ? 'MP4 made from the upload.'
            : recording.processing === 'failed'
              ? 'The upload as it arrived (processing failed); seeking may be limited.'
              : 'The upload as it arrived; processing is not finished, so seeking may be limited.'}
        </p>
      </div>
      <div>
        {words.length > 0 ? (
          <>
            <p className="muted" id={`words-hint-${recording.answerId}`} style={{ marginTop: 0 }}>
              Choose a word to play from there. The word being spoken is highlighted.
            </p>
            <div
              ref={transcriptRef}
              className="transcript"
              role="group"
              aria-label={`Transcript of ${label}, synced to the recording`}
              aria-describedby={`words-hint-${recording.answerId}`}
            >
              {words.map((w, i) => (
                <span key={i}>
                  <button
                    type="button"
                    className="word"
                    data-index={i}
                    data-testid="transcript-word"
                    data-start-ms={w.startMs}
                    aria-current={i === current ? 'true' : undefined}
                    title={formatPosition(w.startMs)}
                    onClick={() => seek(w.startMs)}
                  >
                    {w.word}
                  </button>{' '}
                </span>
              ))}
            </div>
          </>
        ) : (
          <p className="muted">
            {recording.transcript
              ? 'This transcript has no word timings, so it cannot follow the recording.'
              : 'No transcript yet: it appears once the recording has been transcribed.'}
          </p>
        )}
      </div>
    </div>
  );
}

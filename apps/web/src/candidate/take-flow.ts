import type { TSessionView } from '@parley/contracts';

export type TCurrentQuestion = NonNullable<TSessionView['current']>;

export type TakeStep =
  /** AI notice and the two consents. */
  | 'notice'
  /** Camera and microphone check (again after a reload, to get the devices back). */
  | 'device-check'
  /** Consented, devices ready: the overview before the first question. */
  | 'start'
  | 'question'
  | 'done'
  /** Expired or withdrawn. */
  | 'closed';

/** Whether this candidate's choices need the camera and microphone at all. */
export function needsMedia(view: TSessionView): boolean {
  return view.consents.recording || streamsFrames(view, { ignoreStatus: true });
}

/**
 * Frames go to the server only with consent to video analysis, under a policy that allows it:
 * at the device check (`consented`, where the server says whether it sees a face) and in progress.
 */
export function streamsFrames(view: TSessionView, opts: { ignoreStatus?: boolean } = {}): boolean {
  return (
    view.consents.videoAnalysis &&
    view.emotionPolicy !== 'off' &&
    (opts.ignoreStatus === true || view.status === 'consented' || view.status === 'in_progress')
  );
}

/** Where the candidate is, from the server's view of the session and whether devices are on. */
export function takeStep(view: TSessionView, mediaReady: boolean): TakeStep {
  switch (view.status) {
    case 'invited':
      return 'notice';
    case 'consented':
      return needsMedia(view) && !mediaReady ? 'device-check' : 'start';
    case 'in_progress':
      return needsMedia(view) && !mediaReady ? 'device-check' : 'question';
    case 'completed':
    case 'scoring':
    case 'scored':
      return 'done';
    case 'expired':
    case 'abandoned':
      return 'closed';
  }
}

export interface QuestionActions {
  /** The candidate may still give an answer in this attempt. */
  canAnswer: boolean;
  canRetake: boolean;
  retakesLeft: number;
  canNext: boolean;
  canComplete: boolean;
}

export function questionActions(current: TCurrentQuestion, questionCount: number): QuestionActions {
  const finished = current.phase === 'submitted' || current.phase === 'closed';
  const retakesLeft = Math.max(0, current.retakesAllowed - (current.attempt - 1));
  const isLast = current.position >= questionCount - 1;
  return {
    canAnswer: current.phase === 'preparing' || current.phase === 'answering',
    canRetake: finished && retakesLeft > 0,
    retakesLeft,
    canNext: finished && !isLast,
    canComplete: finished && isLast,
  };
}

/**
 * Milliseconds left in the current phase by the server's clock: the server said how much was
 * left when the view was fetched, and the local clock only measures time since then.
 */
export function remainingMs(current: TCurrentQuestion, fetchedAt: number, now: number): number {
  const elapsed = Math.max(0, now - fetchedAt);
  const left = current.phase === 'preparing' ? current.prepRemainingMs : current.answerRemainingMs;
  return Math.max(0, left - elapsed);
}

/** "1:05", "0:09". */
export function formatClock(ms: number): string {
  const total = Math.ceil(ms / 1000);
  const minutes = Math.floor(total / 60);
  return `${minutes}:${String(total % 60).padStart(2, '0')}`;
}

/** "1 minute 5 seconds", for screen readers. */
export function spokenDuration(ms: number): string {
  const total = Math.ceil(ms / 1000);
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  const parts = [];
  if (minutes) parts.push(`${minutes} minute${minutes === 1 ? '' : 's'}`);
  if (seconds || !minutes) parts.push(`${seconds} second${seconds === 1 ? '' : 's'}`);
  return parts.join(' ');
}

/** The best recording format this browser offers among those the server takes. */
export function pickRecordingType(isSupported: (type: string) => boolean, withVideo: boolean): string | undefined {
  const video = ['video/webm;codecs=vp8,opus', 'video/webm;codecs=vp9,opus', 'video/webm', 'video/mp4'];
  const audio = ['audio/webm;codecs=opus', 'audio/webm', 'audio/ogg;codecs=opus', 'audio/mp4'];
  return (withVideo ? [...video, ...audio] : audio).find((t) => isSupported(t));
}

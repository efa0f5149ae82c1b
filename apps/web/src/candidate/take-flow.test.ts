import type { TSessionView } from '@parley/contracts';
import { describe, expect, it } from 'vitest';
import {
  formatClock,
  pickRecordingType,
  questionActions,
  remainingMs,
  spokenDuration,
  streamsFrames,
  takeStep,
  type TCurrentQuestion,
} from './take-flow.ts';

const ID = '11111111-1111-4111-8111-111111111111';
const T = '2030-01-01T00:00:00.000Z';

function view(over: Partial<TSessionView> = {}): TSessionView {
  return {
    id: ID,
    interviewId: ID,
    candidateId: ID,
    status: 'invited',
    title: 'Backend engineer',
    language: 'en',
    emotionPolicy: 'insights',
    consents: { aiNotice: false, recording: false, videoAnalysis: false },
    questionCount: 3,
    current: null,
    expiresAt: null,
    startedAt: null,
    completedAt: null,
    serverTime: T,
    ...over,
  };
}

function current(over: Partial<TCurrentQuestion> = {}): TCurrentQuestion {
  return {
    position: 0,
    isPractice: true,
    text: 'Tell us about yourself',
    prepSeconds: 30,
    answerSeconds: 120,
    retakesAllowed: 1,
    attempt: 1,
    phase: 'preparing',
    prepEndsAt: T,
    answerEndsAt: T,
    prepRemainingMs: 30_000,
    answerRemainingMs: 150_000,
    hasText: false,
    hasRecording: false,
    ...over,
  };
}

const consents = (recording: boolean, videoAnalysis: boolean) => ({ aiNotice: true, recording, videoAnalysis });

describe('the candidate flow', () => {
  it('starts with the notice and consents', () => {
    expect(takeStep(view(), false)).toBe('notice');
  });

  it('checks devices before starting when recording or analysis needs them, also after a reload', () => {
    const consented = view({ status: 'consented', consents: consents(true, false) });
    expect(takeStep(consented, false)).toBe('device-check');
    expect(takeStep(consented, true)).toBe('start');
    const inProgress = view({ status: 'in_progress', consents: consents(false, true) });
    expect(takeStep(inProgress, false)).toBe('device-check');
    expect(takeStep(inProgress, true)).toBe('question');
  });

  it('skips the device check for a candidate who declined both', () => {
    expect(takeStep(view({ status: 'consented', consents: consents(false, false) }), false)).toBe('start');
  });

  it('does not need the camera for analysis when the policy is off', () => {
    expect(takeStep(view({ status: 'consented', emotionPolicy: 'off', consents: consents(false, true) }), false)).toBe(
      'start',
    );
  });

  it('ends on the completion page once completed, scored or scoring, and on a closed page otherwise', () => {
    for (const status of ['completed', 'scoring', 'scored'] as const)
      expect(takeStep(view({ status }), false)).toBe('done');
    for (const status of ['expired', 'abandoned'] as const) expect(takeStep(view({ status }), false)).toBe('closed');
  });

  it('streams frames at the device check and in progress, with consent, under a policy that allows analysis', () => {
    expect(streamsFrames(view({ status: 'in_progress', consents: consents(false, true) }))).toBe(true);
    expect(streamsFrames(view({ status: 'consented', consents: consents(false, true) }))).toBe(true);
    expect(streamsFrames(view({ status: 'in_progress', consents: consents(true, false) }))).toBe(false);
    expect(streamsFrames(view({ status: 'consented', consents: consents(true, false) }))).toBe(false);
    expect(streamsFrames(view({ status: 'invited', consents: consents(false, true) }))).toBe(false);
    expect(streamsFrames(view({ status: 'completed', consents: consents(false, true) }))).toBe(false);
    expect(streamsFrames(view({ status: 'consented', emotionPolicy: 'off', consents: consents(true, true) }))).toBe(
      false,
    );
    expect(streamsFrames(view({ status: 'in_progress', emotionPolicy: 'off', consents: consents(true, true) }))).toBe(
      false,
    );
  });
});

describe('question actions', () => {
  it('lets the candidate answer while preparing or answering, not move on', () => {
    expect(questionActions(current({ phase: 'preparing' }), 3)).toMatchObject({
      canAnswer: true,
      canNext: false,
      canRetake: false,
    });
    expect(questionActions(current({ phase: 'answering' }), 3)).toMatchObject({ canAnswer: true, canNext: false });
  });

  it('offers a retake within the allowance after an answer or when time ran out', () => {
    expect(questionActions(current({ phase: 'submitted', attempt: 1, retakesAllowed: 1 }), 3)).toMatchObject({
      canRetake: true,
      retakesLeft: 1,
      canNext: true,
    });
    expect(questionActions(current({ phase: 'closed', attempt: 2, retakesAllowed: 1 }), 3)).toMatchObject({
      canRetake: false,
      retakesLeft: 0,
    });
  });

  it('finishes on the last question instead of moving on', () => {
    expect(questionActions(current({ phase: 'submitted', position: 2 }), 3)).toMatchObject({
      canNext: false,
      canComplete: true,
    });
  });
});

describe('timers', () => {
  it('counts down from what the server said, by the time elapsed since', () => {
    const c = current({ phase: 'preparing', prepRemainingMs: 30_000 });
    expect(remainingMs(c, 1000, 1000)).toBe(30_000);
    expect(remainingMs(c, 1000, 11_000)).toBe(20_000);
    expect(remainingMs(c, 1000, 99_000)).toBe(0);
    expect(remainingMs(current({ phase: 'answering', answerRemainingMs: 5000 }), 0, 1000)).toBe(4000);
  });

  it('formats the clock and a spoken duration', () => {
    expect(formatClock(65_000)).toBe('1:05');
    expect(formatClock(8_100)).toBe('0:09');
    expect(spokenDuration(65_000)).toBe('1 minute 5 seconds');
    expect(spokenDuration(120_000)).toBe('2 minutes');
    expect(spokenDuration(0)).toBe('0 seconds');
  });
});

describe('recording format', () => {
  it('prefers WebM video with Opus, and falls back to audio only', () => {
    expect(pickRecordingType(() => true, true)).toBe('video/webm;codecs=vp8,opus');
    expect(pickRecordingType((t) => t.startsWith('audio/ogg'), true)).toBe('audio/ogg;codecs=opus');
    expect(pickRecordingType(() => false, true)).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { faceStatus, type TFrameFeedback } from './frame-feedback.ts';

const feedback = (over: Partial<TFrameFeedback> = {}): TFrameFeedback => ({
  type: 'frame.feedback',
  sessionId: '11111111-1111-4111-8111-111111111111',
  seq: 3,
  faceDetected: true,
  faceCount: 1,
  qualityOk: true,
  gazeAway: false,
  ...over,
});

describe('the face indicator, driven by the server', () => {
  it('says it is waiting until the server has answered, and why', () => {
    expect(faceStatus(null, null)).toBe('connecting to the server…');
    expect(faceStatus(null, 'reconnecting')).toBe('connecting to the server…');
    expect(faceStatus(null, 'ready')).toBe('checking…');
    expect(faceStatus(null, 'failed')).toMatch(/unavailable/);
  });

  it('reports what the server saw: one face, none, or several', () => {
    expect(faceStatus(feedback(), 'ready')).toBe('✓ face detected');
    expect(faceStatus(feedback({ faceDetected: false, faceCount: 0 }), 'ready')).toMatch(/^✗ we cannot see your face/);
    expect(faceStatus(feedback({ faceCount: 2 }), 'ready')).toBe('more than one face is visible');
    // The last answer stands while the connection comes back.
    expect(faceStatus(feedback(), 'reconnecting')).toBe('✓ face detected');
  });
});

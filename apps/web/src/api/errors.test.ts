import { ERROR_CODES } from '@parley/contracts';
import { describe, expect, it } from 'vitest';
import { ApiError, ERROR_MESSAGES, errorFromResponse, fieldErrors, humanMessage } from './errors.ts';

describe('error messages', () => {
  it('has a human sentence for every error code the server can send', () => {
    for (const code of ERROR_CODES) {
      expect(ERROR_MESSAGES[code], code).toMatch(/^[A-Z].+\.$/);
    }
  });

  it('never shows a raw code to a person', () => {
    for (const code of ERROR_CODES) {
      const message = humanMessage(new ApiError(code, 'server text', 400));
      expect(message).not.toContain(code);
    }
  });

  it('keeps the specifics of a conflict next to the general sentence', () => {
    const error = new ApiError('CONFLICT', 'Question 2 is not the current question', 409);
    expect(humanMessage(error)).toContain('Question 2 is not the current question');
  });

  it('reads the error body the server sends', () => {
    const error = errorFromResponse(410, {
      error: { code: 'INVITATION_EXPIRED', message: 'This invitation link has expired', requestId: 'r1' },
    });
    expect(error.code).toBe('INVITATION_EXPIRED');
    expect(error.requestId).toBe('r1');
    expect(humanMessage(error)).toBe(ERROR_MESSAGES.INVITATION_EXPIRED);
  });

  it('falls back to a code from the status when the body is not an error body', () => {
    expect(errorFromResponse(503, '<html>bad gateway</html>').code).toBe('SERVICE_UNAVAILABLE');
    expect(errorFromResponse(404, undefined).code).toBe('NOT_FOUND');
    expect(errorFromResponse(500, {}).code).toBe('INTERNAL');
  });

  it('maps validation issues to fields, from JSON pointers or arrays', () => {
    const error = errorFromResponse(400, {
      error: {
        code: 'VALIDATION_FAILED',
        message: 'Invalid body',
        details: { issues: [{ path: '/candidates/0/email', message: 'Invalid email' }] },
      },
    });
    expect(fieldErrors(error)).toEqual({ 'candidates.0.email': 'Invalid email' });
    const zodLike = new ApiError('VALIDATION_FAILED', 'x', 400, undefined, [{ path: ['email'], message: 'bad' }]);
    expect(fieldErrors(zodLike)).toEqual({ email: 'bad' });
  });

  it('marks transient failures as retryable and others not', () => {
    expect(new ApiError('NETWORK_ERROR', '', 0).retryable).toBe(true);
    expect(new ApiError('SERVICE_UNAVAILABLE', '', 503).retryable).toBe(true);
    expect(new ApiError('TIME_LIMIT_EXCEEDED', '', 409).retryable).toBe(false);
  });
});

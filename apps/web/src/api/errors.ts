import { ZErrorBody, type TErrorCode } from '@parley/contracts';

/** Failures that happen on this side of the wire; they never come from the server. */
export const CLIENT_ERROR_CODES = ['NETWORK_ERROR', 'BAD_RESPONSE', 'ABORTED'] as const;
export type TClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];
export type TAnyErrorCode = TErrorCode | TClientErrorCode;

/**
 * What a person reads for each error code. A `Record` over every code, so adding a code to the
 * contracts without a message here does not compile.
 */
export const ERROR_MESSAGES: Record<TAnyErrorCode, string> = {
  BAD_REQUEST: 'The request was not understood. Check what you entered and try again.',
  VALIDATION_FAILED: 'Some of the information is not valid. Check the highlighted fields and try again.',
  MALFORMED_JSON: 'The request was garbled on the way to the server. Try again.',
  PAYLOAD_TOO_LARGE: 'That is too large to upload. Try a shorter recording.',
  UNSUPPORTED_MEDIA_TYPE:
    'This browser recorded in a format the server does not accept. Try another browser or type your answer.',
  UNAUTHENTICATED: 'Please sign in to continue.',
  TOKEN_EXPIRED: 'Your session has expired. Please sign in again.',
  TOKEN_INVALID: 'Your sign-in is no longer valid. Please sign in again.',
  TOKEN_REUSED:
    'For your security you were signed out, because your sign-in was used from somewhere else. Please sign in again.',
  INVALID_CREDENTIALS: 'The e-mail address or password is not correct.',
  FORBIDDEN: 'You do not have permission to do that.',
  NOT_FOUND: 'We could not find what you were looking for. It may have been removed.',
  CONFLICT: 'This changed in the meantime. Reload the page and try again.',
  ALREADY_EXISTS: 'That already exists.',
  ILLEGAL_TRANSITION: 'That step is not possible any more. Reload the page to see where things stand.',
  DEADLINE_PASSED: 'The deadline for this interview has passed.',
  TIME_LIMIT_EXCEEDED: 'The time for this answer is over.',
  RETAKES_EXHAUSTED: 'You have used every retake allowed for this question.',
  CONSENT_REQUIRED: 'This needs your consent, which was not given.',
  INVITATION_USED:
    'This invitation link has already been used. If you started the interview in this browser, reopen it from the same browser.',
  INVITATION_EXPIRED: 'This invitation link has expired. Ask the recruiter for a new one.',
  INVALID_STORAGE_KEY: 'The file reference is not valid.',
  INTEGRITY_CHECK_FAILED: 'The upload was damaged on the way. Try again.',
  RATE_LIMITED: 'Too many requests in a short time. Wait a moment and try again.',
  FRAME_TOO_LARGE: 'A camera image was too large to send.',
  RANGE_NOT_SATISFIABLE: 'That part of the recording does not exist. Reload the page and try again.',
  SERVICE_UNAVAILABLE: 'The service is busy or briefly unavailable. Try again in a moment.',
  UPSTREAM_FAILED: 'A service we depend on did not answer. Try again in a moment.',
  REPORT_RENDER_FAILED: 'The PDF of this report could not be printed. Try the download again in a few minutes.',
  INTERNAL: 'Something went wrong on our side. Try again; if it keeps happening, contact support.',
  NETWORK_ERROR: 'Could not reach the server. Check your connection and try again.',
  BAD_RESPONSE: 'The server sent an answer we did not understand. Reload the page and try again.',
  ABORTED: 'The request was cancelled.',
};

/** Codes for which repeating the same request later may succeed. */
const RETRYABLE: ReadonlySet<TAnyErrorCode> = new Set([
  'NETWORK_ERROR',
  'SERVICE_UNAVAILABLE',
  'UPSTREAM_FAILED',
  'RATE_LIMITED',
  'INTEGRITY_CHECK_FAILED',
  'INTERNAL',
]);

/** Codes that mean the stored sign-in is no good: the user must sign in again. */
export const SIGNED_OUT_CODES: ReadonlySet<TAnyErrorCode> = new Set([
  'UNAUTHENTICATED',
  'TOKEN_EXPIRED',
  'TOKEN_INVALID',
  'TOKEN_REUSED',
]);

export class ApiError extends Error {
  constructor(
    readonly code: TAnyErrorCode,
    /** The server's own message (English, for developers and logs). */
    readonly serverMessage: string,
    readonly status: number,
    readonly requestId?: string,
    readonly details?: unknown,
  ) {
    super(`${code}: ${serverMessage}`);
    this.name = 'ApiError';
  }

  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }
}

/**
 * Field-level problems from a VALIDATION_FAILED answer, as `path → message`, when the server
 * listed them (zod issues in `details`).
 */
export function fieldErrors(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError) || error.code !== 'VALIDATION_FAILED') return {};
  const issues = Array.isArray(error.details)
    ? error.details
    : isRecord(error.details) && Array.isArray(error.details.issues)
      ? error.details.issues
      : [];
  const out: Record<string, string> = {};
  for (const issue of issues) {
    if (!isRecord(issue) || typeof issue.message !== 'string') continue;
    // The server sends JSON-pointer paths ("/candidates/0/email"); zod sends arrays.
    const path = Array.isArray(issue.path)
      ? issue.path.join('.')
      : typeof issue.path === 'string'
        ? issue.path.replace(/^\/+/, '').replaceAll('/', '.')
        : '';
    out[path] ??= issue.message;
  }
  return out;
}

/** A sentence for a person, whatever was thrown. */
export function humanMessage(error: unknown): string {
  if (error instanceof ApiError) {
    const base = ERROR_MESSAGES[error.code];
    // Validation and conflicts carry specifics that help ("Question 2 is not the current question").
    if (
      (error.code === 'VALIDATION_FAILED' || error.code === 'CONFLICT' || error.code === 'BAD_REQUEST') &&
      error.serverMessage
    ) {
      return `${base} (${error.serverMessage})`;
    }
    return base;
  }
  if (error instanceof DOMException && error.name === 'AbortError') return ERROR_MESSAGES.ABORTED;
  return ERROR_MESSAGES.INTERNAL;
}

/** Turns an error response into an ApiError; a body that is not the error shape still gets a code. */
export function errorFromResponse(status: number, body: unknown): ApiError {
  const parsed = ZErrorBody.safeParse(body);
  if (parsed.success) {
    const { code, message, requestId, details } = parsed.data.error;
    return new ApiError(code, message, status, requestId, details);
  }
  return new ApiError(codeForStatus(status), `HTTP ${status}`, status);
}

function codeForStatus(status: number): TAnyErrorCode {
  if (status === 401) return 'UNAUTHENTICATED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'CONFLICT';
  if (status === 413) return 'PAYLOAD_TOO_LARGE';
  if (status === 429) return 'RATE_LIMITED';
  if (status === 502 || status === 504) return 'UPSTREAM_FAILED';
  if (status === 503) return 'SERVICE_UNAVAILABLE';
  if (status >= 500) return 'INTERNAL';
  return 'BAD_REQUEST';
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

import { z } from 'zod';

/**
 * Every error the API can answer with. The server maps each code to an HTTP status and a
 * WebSocket close code in one table (`apps/server/src/shared/error-map.ts`); the web app maps
 * each code to a human message.
 */
export const ERROR_CODES = [
  'BAD_REQUEST',
  'VALIDATION_FAILED',
  'MALFORMED_JSON',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'UNAUTHENTICATED',
  'TOKEN_EXPIRED',
  'TOKEN_INVALID',
  'TOKEN_REUSED',
  'INVALID_CREDENTIALS',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'ALREADY_EXISTS',
  'ILLEGAL_TRANSITION',
  'DEADLINE_PASSED',
  'TIME_LIMIT_EXCEEDED',
  'RETAKES_EXHAUSTED',
  'CONSENT_REQUIRED',
  'INVITATION_USED',
  'INVITATION_EXPIRED',
  'INVALID_STORAGE_KEY',
  'INTEGRITY_CHECK_FAILED',
  'RATE_LIMITED',
  'FRAME_TOO_LARGE',
  'RANGE_NOT_SATISFIABLE',
  'SERVICE_UNAVAILABLE',
  'UPSTREAM_FAILED',
  'REPORT_RENDER_FAILED',
  'INTERNAL',
] as const;

export const ZErrorCode = z.enum(ERROR_CODES);
export type TErrorCode = z.infer<typeof ZErrorCode>;

/** The body of every error response. */
export const ZErrorBody = z.object({
  error: z.object({
    code: ZErrorCode,
    message: z.string(),
    requestId: z.string().optional(),
    details: z.unknown().optional(),
  }),
});
export type TErrorBody = z.infer<typeof ZErrorBody>;

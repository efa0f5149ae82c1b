import { ZErrorBody } from '@parley/contracts';

/**
 * The error answers any API route may give, for its OpenAPI `response` map: every one has the
 * same body, `{ error: { code, message, requestId, details } }`.
 */
export const ERROR_RESPONSES = {
  400: ZErrorBody,
  401: ZErrorBody,
  403: ZErrorBody,
  404: ZErrorBody,
  409: ZErrorBody,
  410: ZErrorBody,
  413: ZErrorBody,
  415: ZErrorBody,
  429: ZErrorBody,
  503: ZErrorBody,
} as const;

/** OpenAPI security requirement of routes that take `Authorization: Bearer <access token>`. */
export const BEARER = [{ bearer: [] }];

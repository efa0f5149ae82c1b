import type { TErrorBody, TErrorCode } from '@parley/contracts';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { HttpServer } from './http-server.ts';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { isAppError } from '../../shared/app-error.ts';
import { ERROR_STATUS } from '../../shared/error-map.ts';

function body(code: TErrorCode, message: string, requestId: string, details?: unknown): TErrorBody {
  return { error: { code, message, requestId, ...(details === undefined ? {} : { details }) } };
}

/** Fastify's own error codes → ours, so that framework-level rejections carry stable codes too. */
const FASTIFY_CODES: Record<string, TErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_VALIDATION: 'VALIDATION_FAILED',
  FST_ERR_BAD_URL: 'BAD_REQUEST',
  FST_ERR_ASYNC_CONSTRAINT: 'BAD_REQUEST',
};

/**
 * The one place errors become HTTP responses. AppErrors keep their code; validation and parse
 * errors become 4xx with a code; anything else is logged and answered as a bare 500 without
 * internals.
 */
export function installErrorHandling(app: HttpServer): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (isAppError(error)) {
      const status = ERROR_STATUS[error.code].http;
      if (status >= 500) request.log.error({ err: error }, 'request failed');
      return reply.status(status).send(body(error.code, error.message, request.id, error.details));
    }
    if (hasZodFastifySchemaValidationErrors(error)) {
      const issues = error.validation.map((v) => ({
        path: v.instancePath || '/',
        message: v.message ?? 'invalid',
      }));
      return reply
        .status(400)
        .send(body('VALIDATION_FAILED', `Invalid ${error.validationContext ?? 'request'}`, request.id, { issues }));
    }
    const mapped = error.code ? FASTIFY_CODES[error.code] : undefined;
    if (mapped) return reply.status(ERROR_STATUS[mapped].http).send(body(mapped, error.message, request.id));
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      const code: TErrorCode = error.statusCode === 429 ? 'RATE_LIMITED' : 'BAD_REQUEST';
      return reply.status(error.statusCode).send(body(code, error.message, request.id));
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.status(500).send(body('INTERNAL', 'Internal error', request.id));
  });

  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send(body('NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`, request.id)),
  );
}

import type { TErrorCode } from '@parley/contracts';

/**
 * The only error a service throws on purpose. The edge (HTTP, WebSocket, job runner) maps the
 * code to a status; services never know about HTTP.
 */
export class AppError extends Error {
  override readonly name = 'AppError';
  constructor(
    readonly code: TErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;

import type { HttpServer } from '../infra/http/http-server.ts';
import { resolveRequestActors } from '../infra/http/request-actor.ts';
import { ANONYMOUS } from '../shared/actor.ts';
import { AppError } from '../shared/app-error.ts';
import type { AccountsService } from './accounts.service.ts';

/** Reads `Authorization: Bearer …` (or `?access_token=` on WebSocket upgrades, where browsers cannot set headers). */
export function bearerToken(headers: Record<string, string | string[] | undefined>, url: string): string | undefined {
  const header = headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new AppError('TOKEN_INVALID', 'Authorization header must be "Bearer <token>"');
    return match[1];
  }
  const query = url.includes('?') ? new URLSearchParams(url.slice(url.indexOf('?') + 1)).get('access_token') : null;
  return query ?? undefined;
}

/**
 * Resolves `request.actor` for every route. Runs in `onRequest`, after the gateway's IP limiter
 * (registered earlier), so a flood of bad tokens is limited before it costs a verification.
 */
export function installAuthentication(app: HttpServer, accounts: AccountsService): void {
  resolveRequestActors(app, async (request) => {
    const token = bearerToken(request.headers, request.url);
    return token ? await accounts.authenticate(token, request.ip) : { ...ANONYMOUS, ip: request.ip };
  });
}

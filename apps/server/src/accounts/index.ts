import type { Config } from '../config.ts';
import type { Cache } from '../infra/cache/cache.ts';
import type { Broker } from '../infra/broker/broker.ts';
import type { Database } from '../infra/db/database.ts';
import type { HttpServer } from '../infra/http/http-server.ts';
import type { Logger } from '../infra/log.ts';
import { registerAccountsRoutes } from './accounts.routes.ts';
import { AccountsService } from './accounts.service.ts';
import { installAuthentication } from './auth.hook.ts';
import { DrizzleAccountsRepository } from './drizzle-accounts.repository.ts';
import { PasswordHasher } from './password.ts';
import { loadOrCreateSigningKeys, parseSigningKeys, type SigningKeys } from './signing-keys.ts';
import { TokenService } from './token.service.ts';

export { AccountsService, type PublicUser, type TokenPair } from './accounts.service.ts';
export type { AuditEntry } from './accounts.repository.ts';
export { TokenService, type AccessClaims } from './token.service.ts';
export { bearerToken } from './auth.hook.ts';

/** `JWT_KEYS` when set (every process of a split deployment shares it); a key kept in DATA_DIR otherwise. */
export async function loadSigningKeys(config: Pick<Config, 'auth' | 'server'>): Promise<SigningKeys> {
  return config.auth.keys
    ? parseSigningKeys(config.auth.keys, config.auth.activeKid)
    : loadOrCreateSigningKeys(config.server.dataDir);
}

export function createTokenService(config: Pick<Config, 'auth'>, keys: SigningKeys): TokenService {
  return new TokenService(keys, {
    issuer: config.auth.issuer,
    audience: config.auth.audience,
    accessTtlSeconds: config.auth.accessTtlSeconds,
    clockSkewSeconds: config.auth.clockSkewSeconds,
  });
}

export interface AccountsModule {
  service: AccountsService;
  /** Resolves `request.actor` on every request of this server. */
  installAuthentication(app: HttpServer): void;
  registerRoutes(app: HttpServer): void;
}

export async function createAccountsModule(deps: {
  config: Pick<Config, 'auth' | 'server'>;
  database: Database;
  cache: Cache;
  /** Staff invitation e-mails are requested on it from the workers' `notification.email` job. */
  broker: Pick<Broker, 'publish'>;
  logger: Logger;
}): Promise<AccountsModule> {
  const { config } = deps;
  const tokens = createTokenService(config, await loadSigningKeys(config));
  const service = new AccountsService(
    new DrizzleAccountsRepository(deps.database),
    tokens,
    new PasswordHasher(config.auth.scryptN),
    deps.cache,
    deps.broker,
    deps.logger.child({ context: 'accounts' }),
    {
      refreshTtlSeconds: config.auth.refreshTtlSeconds,
      staffInvitationTtlSeconds: 7 * 24 * 3600,
      minPasswordLength: 12,
    },
  );
  return {
    service,
    installAuthentication: (app) => installAuthentication(app, service),
    registerRoutes: (app) => registerAccountsRoutes(app, service),
  };
}

import { createAccountsModule } from '../accounts/index.ts';
import type { Container } from '../container.ts';
import { noop, type Role } from './role.ts';

export const accountsOf = (container: Container) =>
  container.module('accounts', () =>
    createAccountsModule({
      config: container.config,
      database: container.database,
      cache: container.cache,
      mail: container.mail,
    }),
  );

/** The API owner: authentication, accounts, and the interview routes. */
export const interviewRole: Role = {
  async start({ container, http }) {
    const accounts = await accountsOf(container);
    accounts.installAuthentication(http);
    accounts.registerRoutes(http);
    return noop;
  },
};

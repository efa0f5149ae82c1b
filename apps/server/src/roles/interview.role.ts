import { createAccountsModule } from '../accounts/index.ts';
import type { Container } from '../container.ts';
import { createInterviewsModule } from '../interviews/index.ts';
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

export const interviewsOf = (container: Container) =>
  container.module('interviews', async () =>
    createInterviewsModule({
      database: container.database,
      storage: container.storage,
      broker: container.broker,
      mail: container.mail,
      accounts: (await accountsOf(container)).service,
      config: { publicUrl: container.config.server.publicUrl },
    }),
  );

/** The API owner: authentication, accounts, the question bank, interviews, invitations and sessions. */
export const interviewRole: Role = {
  async start({ container, http }) {
    const accounts = await accountsOf(container);
    accounts.installAuthentication(http);
    accounts.registerRoutes(http);
    await (await interviewsOf(container)).registerRoutes(http);
    return noop;
  },
};

import { accountsOf, interviewsOf, scoringOf } from './modules.ts';
import { noop, type Role } from './role.ts';

/** The API owner: authentication, accounts, the question bank, interviews, sessions, reports, provider keys. */
export const interviewRole: Role = {
  async start({ container, http }) {
    const accounts = await accountsOf(container);
    accounts.installAuthentication(http);
    accounts.registerRoutes(http);
    await (await interviewsOf(container)).registerRoutes(http);
    // Reports, score overrides and provider keys are API routes too; the scoring role only consumes.
    (await scoringOf(container)).registerRoutes(http);
    return noop;
  },
};

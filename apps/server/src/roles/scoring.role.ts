import { noop, type Role } from './role.ts';

/** The scoring role; its context registers routes and consumers here as it lands. */
export const scoringRole: Role = {
  async start() {
    return noop;
  },
};

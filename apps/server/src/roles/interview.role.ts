import { noop, type Role } from './role.ts';

/** The interview role; its context registers routes and consumers here as it lands. */
export const interviewRole: Role = {
  async start() {
    return noop;
  },
};

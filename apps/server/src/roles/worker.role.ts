import { noop, type Role } from './role.ts';

/** The worker role; its context registers routes and consumers here as it lands. */
export const workerRole: Role = {
  async start() {
    return noop;
  },
};

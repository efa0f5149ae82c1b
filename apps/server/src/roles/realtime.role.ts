import { noop, type Role } from './role.ts';

/** The realtime role; its context registers routes and consumers here as it lands. */
export const realtimeRole: Role = {
  async start() {
    return noop;
  },
};

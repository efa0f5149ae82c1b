import { noop, type Role } from './role.ts';

/** The emotion role; its context registers routes and consumers here as it lands. */
export const emotionRole: Role = {
  async start() {
    return noop;
  },
};

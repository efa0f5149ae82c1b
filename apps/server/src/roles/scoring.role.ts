import { scoringOf } from './modules.ts';
import type { Role } from './role.ts';

/** Consumes `scoring.process`: transcribes, analyses and scores each completed session. */
export const scoringRole: Role = {
  async start({ container }) {
    const scoring = await scoringOf(container);
    await scoring.startConsumer();
    return { stop: () => scoring.stop() };
  },
};

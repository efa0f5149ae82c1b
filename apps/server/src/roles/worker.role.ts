import { startWorkers } from '../workers/index.ts';
import type { Role } from './role.ts';

/** Video processing, e-mail, retention and clean-up jobs from the broker, plus their schedule. */
export const workerRole: Role = {
  async start({ container: c }) {
    return startWorkers({
      config: c.config,
      database: c.database,
      storage: c.storage,
      broker: c.broker,
      mail: c.mail,
      logger: c.logger,
    });
  },
};

import { startWorkers } from '../workers/index.ts';
import { scoringOf } from './modules.ts';
import type { Role } from './role.ts';

/**
 * Video processing, batch emotion analysis, report printing, e-mail, retention and clean-up jobs
 * from the broker, plus their schedule. Reports are printed through the scoring context's module
 * (shared with the scoring and interview roles when they run in this process).
 */
export const workerRole: Role = {
  async start({ container: c }) {
    return startWorkers({
      reports: (await scoringOf(c)).reports,
      config: c.config,
      database: c.database,
      storage: c.storage,
      broker: c.broker,
      mail: c.mail,
      cache: c.cache,
      logger: c.logger,
    });
  },
};

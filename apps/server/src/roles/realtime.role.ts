import { createRealtimeModule } from '../realtime/index.ts';
import { accountsOf } from './modules.ts';
import type { Role } from './role.ts';

/** `GET /ws`: frames in (acknowledged once stored and announced), live session and emotion updates out. */
export const realtimeRole: Role = {
  async start({ container, http }) {
    const accounts = await accountsOf(container);
    const realtime = createRealtimeModule({
      config: container.config,
      database: container.database,
      storage: container.storage,
      broker: container.broker,
      cache: container.cache,
      metrics: container.metrics,
      logger: container.logger,
      authenticate: (token, ip) => accounts.service.authenticate(token, ip),
    });
    await realtime.register(http);
    return realtime;
  },
};

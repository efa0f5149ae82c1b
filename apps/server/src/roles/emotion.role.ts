import { createEmotionService, startEmotionConsumer } from '../emotion/index.ts';
import type { Role } from './role.ts';

/** Consumes `emotion.analysis`: analyses each captured frame and publishes the result. */
export const emotionRole: Role = {
  async start({ container }) {
    const service = await createEmotionService();
    const consumer = await startEmotionConsumer({
      broker: container.broker,
      database: container.database,
      storage: container.storage,
      cache: container.cache,
      logger: container.logger,
      metrics: container.metrics,
      service,
    });
    return {
      async stop() {
        await consumer.stop();
        await service.close();
      },
    };
  },
};

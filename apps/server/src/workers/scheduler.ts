import type { Broker } from '../infra/broker/broker.ts';
import type { Logger } from '../infra/log.ts';
import { MAINTENANCE_KEYS } from './worker-topology.ts';

const PERIODIC = [
  MAINTENANCE_KEYS.expireSessions,
  MAINTENANCE_KEYS.remindDue,
  MAINTENANCE_KEYS.retentionSweep,
  MAINTENANCE_KEYS.orphanSweep,
] as const;

/**
 * Publishes the periodic maintenance jobs once per interval. Every worker process runs one; the
 * message id is the interval's number, so the jobs run once per interval however many publish.
 */
export function startScheduler(options: { broker: Broker; logger: Logger; intervalMs: number; clock?: () => Date }): {
  stop(): void;
} {
  const clock = options.clock ?? (() => new Date());
  const tick = async () => {
    const bucket = Math.floor(clock().getTime() / options.intervalMs);
    for (const key of PERIODIC) {
      try {
        await options.broker.publish(key, {}, { messageId: `${key}:${options.intervalMs}:${bucket}` });
      } catch (err) {
        options.logger.warn({ err, job: key }, 'could not schedule a maintenance job; next interval will');
      }
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), options.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

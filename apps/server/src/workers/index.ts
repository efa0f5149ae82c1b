/**
 * The workers context: background jobs consumed from the broker — video processing, e-mail
 * notifications, retention and erasure — plus the operator functions behind `parley jobs`.
 */
import type { Config } from '../config.ts';
import type { Broker } from '../infra/broker/broker.ts';
import type { Database } from '../infra/db/database.ts';
import type { Logger } from '../infra/log.ts';
import type { Mailer } from '../infra/mail/mail.ts';
import type { Storage } from '../infra/storage/storage.ts';
import { jobCatalog } from './job-catalog.ts';
import { runJobs } from './job-runner.ts';
import { RetentionService } from './retention/retention.service.ts';
import { startScheduler } from './scheduler.ts';
import type { VideoProcessingOptions } from './video/process-video.job.ts';
import { VIDEO_QUEUE } from './video/process-video.job.ts';

export type { JobDefinition, JobContext, RetryPolicy } from './job.ts';
export { PermanentJobError } from './job.ts';
export { jobCatalog, describeJobs } from './job-catalog.ts';
export { WORKER_TOPOLOGY, MAINTENANCE_QUEUE, MAINTENANCE_KEYS } from './worker-topology.ts';
export { jobsStatus, retryDead, formatJobsStatus, type JobsStatus } from './jobs-cli.ts';
export { ZEmailRequest, requestEmail, EMAIL_REQUESTED, type TEmailRequest } from './email/notification-email.job.ts';
export { renderEmail, type EmailTemplate, type RenderedEmail } from './email/templates.ts';
export { requestCandidateErasure, ZEraseCandidateJob } from './retention/maintenance.jobs.ts';
export {
  RetentionService,
  type RetentionReport,
  type ErasureReport,
  type ExpiryReport,
  type OrphanReport,
} from './retention/retention.service.ts';
export { retentionPolicyOf, type RetentionPolicy } from './retention/retention-policy.ts';

export interface WorkersDeps {
  config: Pick<Config, 'server'>;
  database: Database;
  storage: Storage;
  broker: Broker;
  mail: Mailer;
  logger: Logger;
}

export interface WorkersOptions {
  /** How often the maintenance jobs are scheduled; null turns the scheduler off. Default 1 h. */
  maintenanceIntervalMs?: number | null;
  video?: Partial<VideoProcessingOptions>;
  clock?: () => Date;
}

/**
 * Starts consumers for every job in the catalog (video.processing, notification.email,
 * worker.maintenance) and the maintenance scheduler. The broker must have been created with
 * `WORKER_TOPOLOGY`. `stop()` stops taking jobs and waits for those in flight.
 */
export async function startWorkers(
  deps: WorkersDeps,
  options: WorkersOptions = {},
): Promise<{ stop(): Promise<void> }> {
  const logger = deps.logger.child({ context: 'workers' });
  const retention = new RetentionService({
    database: deps.database,
    storage: deps.storage,
    logger,
    clock: options.clock,
  });
  const jobs = jobCatalog({
    database: deps.database,
    storage: deps.storage,
    broker: deps.broker,
    mail: deps.mail,
    retention,
    publicUrl: deps.config.server.publicUrl,
    video: options.video,
    clock: options.clock,
  });
  // Video is CPU-bound (ffmpeg): one at a time per process; scale with more worker processes.
  const runner = await runJobs({
    broker: deps.broker,
    logger,
    jobs,
    prefetch: { [VIDEO_QUEUE]: 1, 'notification.email': 4 },
  });
  const interval = options.maintenanceIntervalMs === undefined ? 3_600_000 : options.maintenanceIntervalMs;
  const scheduler =
    interval === null
      ? null
      : startScheduler({ broker: deps.broker, logger, intervalMs: interval, clock: options.clock });
  logger.info({ jobs: jobs.map((j) => j.name) }, 'workers started');
  return {
    async stop() {
      scheduler?.stop();
      await runner.stop();
      logger.info('workers stopped');
    },
  };
}

/**
 * The workers context: background jobs consumed from the broker — video processing, batch emotion
 * analysis of recordings, report printing, e-mail notifications, retention and erasure — plus the operator
 * functions behind `parley jobs` and `parley analyze`.
 */
import type { Config } from '../config.ts';
import { createEmotionService, type EmotionService } from '../emotion/index.ts';
import type { Broker } from '../infra/broker/broker.ts';
import type { Cache } from '../infra/cache/cache.ts';
import type { Database } from '../infra/db/database.ts';
import type { Logger } from '../infra/log.ts';
import type { Mailer } from '../infra/mail/mail.ts';
import type { Storage } from '../infra/storage/storage.ts';
import { jobCatalog } from './job-catalog.ts';
import { runJobs } from './job-runner.ts';
import { RetentionService } from './retention/retention.service.ts';
import type { ReportPrinter } from './reports/render-report.job.ts';
import { startScheduler } from './scheduler.ts';
import type { VideoProcessingOptions } from './video/process-video.job.ts';
import { VIDEO_QUEUE } from './video/process-video.job.ts';
import { EMOTION_BATCH_QUEUE, REPORT_QUEUE } from './worker-topology.ts';
import { EMAIL_QUEUE, emailJobs } from './email/notification-email.job.ts';

export type { JobDefinition, JobContext, RetryPolicy } from './job.ts';
export { PermanentJobError } from './job.ts';
export { jobCatalog, describeJobs } from './job-catalog.ts';
export { runJobs, dispatch as dispatchJob } from './job-runner.ts';
export {
  WORKER_TOPOLOGY,
  MAINTENANCE_QUEUE,
  MAINTENANCE_KEYS,
  EMOTION_BATCH_QUEUE,
  REPORT_QUEUE,
  EMAIL_QUEUE_SPEC,
} from './worker-topology.ts';
export { renderReportJob, type ReportPrinter } from './reports/render-report.job.ts';
export {
  VIDEO_PROCESSED,
  ZVideoProcessedEvent,
  type TVideoProcessedEvent,
} from './emotion-batch/analyze-recording.job.ts';
export { VideoEmotionRepository, type VideoEmotionRun } from './emotion-batch/video-emotion.repository.ts';
export {
  summarizeRecording,
  formatRecordingSummary,
  type RecordingSummary,
} from './emotion-batch/recording-summary.ts';
export { analyzeVideoCommand, type AnalyzeVideoCommandOptions } from './emotion-batch/analyze-video.command.ts';
export { jobsStatus, retryDead, formatJobsStatus, type JobsStatus } from './jobs-cli.ts';
export { emailJobs, EMAIL_QUEUE } from './email/notification-email.job.ts';
export { requestEmail } from '../shared/email-requests.ts';
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
  /** Sessions expired by retention are invalidated and announced through it (the worker role passes it). */
  cache?: Cache;
  /**
   * Prints reports (`report.rendering`): the scoring context's `reports` (`ScoringModule['reports']`),
   * as the worker role passes it. Null: this process takes no report jobs (tests of other jobs).
   */
  reports: ReportPrinter | null;
  /**
   * The emotion service for batch analysis of recordings. When absent, the workers load their
   * own on the first recording to analyse (≈ 0.5 s) and close it on stop.
   */
  emotion?: EmotionService;
}

export interface WorkersOptions {
  /** How often the maintenance jobs are scheduled; null turns the scheduler off. Default 1 h. */
  maintenanceIntervalMs?: number | null;
  video?: Partial<VideoProcessingOptions>;
  clock?: () => Date;
}

/**
 * Starts consumers for every job in the catalog (video.processing, emotion.batch,
 * report.rendering, notification.email, worker.maintenance) and the maintenance scheduler. The broker must have
 * been created with `WORKER_TOPOLOGY`. `stop()` stops taking jobs and waits for those in flight.
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
    cache: deps.cache,
    clock: options.clock,
  });
  let ownEmotion: Promise<EmotionService> | null = null;
  const emotion = () => {
    if (deps.emotion) return Promise.resolve(deps.emotion);
    // A failed load is not cached: the next job tries again.
    ownEmotion ??= createEmotionService().catch((err: unknown) => {
      ownEmotion = null;
      throw err;
    });
    return ownEmotion;
  };
  const jobs = jobCatalog({
    database: deps.database,
    storage: deps.storage,
    broker: deps.broker,
    mail: deps.mail,
    retention,
    reports: deps.reports,
    emotion,
    publicUrl: deps.config.server.publicUrl,
    video: options.video,
    clock: options.clock,
  });
  // Video (ffmpeg), batch emotion analysis and report printing (Chromium) are CPU-bound: one at
  // a time per process; scale with more worker processes.
  const runner = await runJobs({
    broker: deps.broker,
    logger,
    jobs,
    prefetch: { [VIDEO_QUEUE]: 1, [EMOTION_BATCH_QUEUE.name]: 1, [REPORT_QUEUE.name]: 1, [EMAIL_QUEUE]: 4 },
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
      if (ownEmotion) await (await ownEmotion.catch(() => null))?.close();
      logger.info('workers stopped');
    },
  };
}

/**
 * Consumers of the `notification.email` queue alone (invitations, reminders, receipts, "report
 * ready"), for a process or a test harness that sends e-mail without running the other jobs.
 */
export async function startEmailJobs(deps: {
  broker: Broker;
  database: Database;
  mail: Mailer;
  logger: Logger;
  /** Base URL of the web app, for links. */
  publicUrl: string;
  clock?: () => Date;
}): Promise<{ stop(): Promise<void> }> {
  return runJobs({
    broker: deps.broker,
    logger: deps.logger.child({ context: 'workers' }),
    jobs: emailJobs({ database: deps.database, mail: deps.mail, publicUrl: deps.publicUrl, clock: deps.clock }),
    prefetch: { [EMAIL_QUEUE]: 4 },
  });
}

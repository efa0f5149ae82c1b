import type { EmotionService } from '../emotion/index.ts';
import type { Broker } from '../infra/broker/broker.ts';
import type { Database } from '../infra/db/database.ts';
import type { Mailer } from '../infra/mail/mail.ts';
import type { Storage } from '../infra/storage/storage.ts';
import { analyzeRecordingJob } from './emotion-batch/analyze-recording.job.ts';
import { emailJobs } from './email/notification-email.job.ts';
import type { JobDefinition } from './job.ts';
import { renderReportJob, type ReportPrinter } from './reports/render-report.job.ts';
import { maintenanceJobs } from './retention/maintenance.jobs.ts';
import type { RetentionService } from './retention/retention.service.ts';
import { processVideoJob, type VideoProcessingOptions } from './video/process-video.job.ts';

export interface CatalogDeps {
  database: Database;
  storage: Storage;
  broker: Broker;
  mail: Mailer;
  retention: RetentionService;
  /** The scoring context's reports, which print and store a session's report; null leaves the job out. */
  reports: ReportPrinter | null;
  /** The emotion models, loaded on the first batch analysis. */
  emotion: () => Promise<EmotionService>;
  publicUrl: string;
  video?: Partial<VideoProcessingOptions>;
  clock?: () => Date;
}

/** Every job the workers run, in one list: name, queue, payload schema, timeout, retries, DLQ, handler. */
export function jobCatalog(deps: CatalogDeps): JobDefinition<never>[] {
  return [
    processVideoJob({
      database: deps.database,
      storage: deps.storage,
      broker: deps.broker,
      options: deps.video,
    }) as JobDefinition<never>,
    analyzeRecordingJob({
      database: deps.database,
      storage: deps.storage,
      emotion: deps.emotion,
      clock: deps.clock,
    }) as JobDefinition<never>,
    ...(deps.reports ? [renderReportJob({ reports: deps.reports, broker: deps.broker }) as JobDefinition<never>] : []),
    ...emailJobs({ database: deps.database, mail: deps.mail, publicUrl: deps.publicUrl, clock: deps.clock }),
    ...maintenanceJobs({ database: deps.database, broker: deps.broker, retention: deps.retention, clock: deps.clock }),
  ];
}

/** The catalog without handlers, for operators and docs. */
export function describeJobs(jobs: readonly JobDefinition<never>[]) {
  return jobs.map((j) => ({
    name: j.name,
    queue: j.queue,
    routingKeys: [...j.routingKeys],
    timeoutMs: j.timeoutMs,
    retry: j.retry,
    deadLetterQueue: j.deadLetterQueue,
    idempotency: j.idempotency,
  }));
}

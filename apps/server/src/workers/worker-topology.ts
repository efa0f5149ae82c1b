import { REPORT_RENDERED } from '@parley/contracts';
import type { QueueSpec, Topology } from '../infra/broker/broker.ts';
import { deadLetterQueueName } from '../infra/broker/amqp-broker.ts';
import { INTERVIEW_EVENTS_TOPOLOGY } from '../infra/broker/topology.ts';
import type { RetryPolicy } from './job.ts';

/** Routing keys of the maintenance jobs; the scheduler and the operator CLI publish them. */
export const MAINTENANCE_KEYS = {
  retentionSweep: 'worker.maintenance.retention-sweep',
  expireSessions: 'worker.maintenance.expire-sessions',
  orphanSweep: 'worker.maintenance.orphan-sweep',
  eraseCandidate: 'worker.maintenance.erase-candidate',
  remindDue: 'worker.maintenance.remind-due',
} as const;

/** Clean-up work: few messages, each a scan, so few but patient retries. */
export const MAINTENANCE_QUEUE: QueueSpec = {
  name: 'worker.maintenance',
  bindings: ['worker.maintenance.*'],
  maxAttempts: 4,
  backoffMs: 10_000,
  maxBackoffMs: 120_000,
};

/**
 * Batch emotion analysis of a processed recording (`interview.video.processed`). A queue of its
 * own rather than a step of `video.processing`: it needs the emotion models (≈ 300 MB, loaded
 * once per process) and ≈ 15 ms CPU per frame, it can fail or be re-run (a model upgrade)
 * without transcoding again, and a failure in it must not mark the recording itself failed.
 */
export const EMOTION_BATCH_QUEUE: QueueSpec = {
  name: 'emotion.batch',
  bindings: ['interview.video.processed'],
  maxAttempts: 3,
  backoffMs: 10_000,
  maxBackoffMs: 120_000,
};

/**
 * Printing a session's report to HTML and PDF with headless Chromium (seconds of CPU, one browser
 * per print): after scoring (`interview.scored`) and when the report changed or its PDF was asked
 * for and is not stored (`report.render.requested`, published by the scoring context).
 */
export const REPORT_QUEUE: QueueSpec = {
  name: 'report.rendering',
  bindings: ['interview.scored', 'report.render.requested'],
  maxAttempts: 3,
  backoffMs: 5_000,
  maxBackoffMs: 60_000,
};

const designEmailQueue = INTERVIEW_EVENTS_TOPOLOGY.queues.find((q) => q.name === 'notification.email');
if (!designEmailQueue) throw new Error('The design topology has no notification.email queue');

/**
 * The design's e-mail queue, also bound to `interview.completed` for the candidate's receipt, and
 * with "report ready" bound to `report.rendered` (the report job's, once the PDF is stored or could
 * not be printed) instead of `interview.scored`, which comes before the print.
 */
export const EMAIL_QUEUE_SPEC: QueueSpec = {
  ...designEmailQueue,
  bindings: [
    ...new Set([
      ...designEmailQueue.bindings.filter((b) => b !== 'interview.scored'),
      'interview.completed',
      REPORT_RENDERED,
    ]),
  ],
};

const OWN_QUEUES = [MAINTENANCE_QUEUE, EMOTION_BATCH_QUEUE, REPORT_QUEUE];

/**
 * The design's topology plus the workers' maintenance, batch emotion and report queues, and the
 * e-mail queue's bindings above. The composition root declares this one, so every process (and
 * RabbitMQ) knows them and their dead-letter queues.
 */
export const WORKER_TOPOLOGY: Topology = {
  exchange: INTERVIEW_EVENTS_TOPOLOGY.exchange,
  queues: [
    ...INTERVIEW_EVENTS_TOPOLOGY.queues
      .filter((q) => !OWN_QUEUES.some((own) => own.name === q.name))
      .map((q) => (q.name === EMAIL_QUEUE_SPEC.name ? EMAIL_QUEUE_SPEC : q)),
    ...OWN_QUEUES,
  ],
};

export function queueSpec(name: string): QueueSpec {
  const spec = WORKER_TOPOLOGY.queues.find((q) => q.name === name);
  if (!spec) throw new Error(`Queue "${name}" is not in the worker topology`);
  return spec;
}

/** The retry policy a queue applies, as the job catalog states it. */
export function retryPolicyOf(queue: string): RetryPolicy {
  const spec = queueSpec(queue);
  return {
    maxAttempts: spec.maxAttempts,
    backoffMs: spec.backoffMs,
    maxBackoffMs: spec.maxBackoffMs ?? Number.POSITIVE_INFINITY,
  };
}

export const dlqOf = (queue: string): string => deadLetterQueueName(queue);

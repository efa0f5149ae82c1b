import { and, eq } from 'drizzle-orm';
import type { Broker, BrokerMessage, Consumer } from '../infra/broker/broker.ts';
import type { Db } from '../infra/db/database.ts';
import { processedMessages } from '../infra/db/schema.ts';
import { withLogContext, type Logger } from '../infra/log.ts';
import { JobTimeoutError, PermanentJobError, type JobDefinition } from './job.ts';

export interface RunJobsOptions {
  broker: Broker;
  logger: Logger;
  jobs: readonly JobDefinition<never>[];
  /** Messages in flight per queue consumer. Video processing is CPU-bound: keep it low. */
  prefetch?: Partial<Record<string, number>>;
}

/** Consumers of every queue the given jobs live on; `stop()` lets in-flight jobs finish. */
export async function runJobs(options: RunJobsOptions): Promise<{ stop(): Promise<void> }> {
  const byQueue = new Map<string, JobDefinition<never>[]>();
  for (const job of options.jobs) byQueue.set(job.queue, [...(byQueue.get(job.queue) ?? []), job]);
  const consumers: Consumer[] = [];
  try {
    for (const [queue, jobs] of byQueue) {
      const handler = (message: BrokerMessage) => dispatch(jobs, message, options.logger);
      consumers.push(await options.broker.consume(queue, handler, { prefetch: options.prefetch?.[queue] ?? 1 }));
    }
  } catch (err) {
    await Promise.allSettled(consumers.map((c) => c.close()));
    throw err;
  }
  return {
    async stop() {
      await Promise.allSettled(consumers.map((c) => c.close()));
    },
  };
}

/** Runs the job a message is for. Resolving acks it; throwing retries it (then dead-letters it). */
export async function dispatch(
  jobs: readonly JobDefinition<never>[],
  message: BrokerMessage,
  parentLogger: Logger,
): Promise<void> {
  const job = jobs.find((j) => j.routingKeys.includes(message.routingKey));
  if (!job) {
    // Kept (retried, then dead-lettered) rather than dropped: an operator can see and replay it.
    throw new Error(`No job handles routing key "${message.routingKey}"`);
  }
  const logger = parentLogger.child({ job: job.name, jobId: message.messageId, attempt: message.attempt });
  const parsed = job.payload.safeParse(message.payload);
  if (!parsed.success) {
    logger.error({ issues: parsed.error.issues.slice(0, 5) }, 'job payload is invalid');
    throw new Error(`Invalid ${job.name} payload: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  }
  const payload: never = parsed.data;
  const lastAttempt = message.attempt >= job.retry.maxAttempts;
  await withLogContext({ jobId: message.messageId }, async () => {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new JobTimeoutError(`${job.name} did not finish within ${job.timeoutMs} ms`);
        // Rejected before the abort, so a handler that returns on abort still counts as timed out.
        reject(err);
        controller.abort(err);
      }, job.timeoutMs);
    });
    try {
      logger.info('job started');
      await Promise.race([
        job.handle(payload, {
          messageId: message.messageId,
          attempt: message.attempt,
          lastAttempt,
          signal: controller.signal,
          logger,
        }),
        timedOut,
      ]);
      logger.info('job finished');
    } catch (err) {
      if (err instanceof PermanentJobError) {
        logger.warn({ err }, 'job failed permanently; not retried');
        return;
      }
      logger[lastAttempt ? 'error' : 'warn'](
        { err },
        lastAttempt ? 'job failed; dead-lettered' : 'job failed; retrying',
      );
      throw err;
    } finally {
      clearTimeout(timer);
      controller.abort();
    }
  });
}

/**
 * Whether a consumer has committed the effect of a message. Handlers insert the mark with
 * `markProcessed` in the same transaction as the effect, so a redelivery finds it.
 */
export async function isProcessed(db: Db, consumer: string, messageId: string): Promise<boolean> {
  const rows = await db
    .select({ id: processedMessages.messageId })
    .from(processedMessages)
    .where(and(eq(processedMessages.consumer, consumer), eq(processedMessages.messageId, messageId)))
    .limit(1);
  return rows.length > 0;
}

/** Records the effect as done; false when it was recorded already (the caller should roll back). */
export async function markProcessed(db: Db, consumer: string, messageId: string): Promise<boolean> {
  const rows = await db
    .insert(processedMessages)
    .values({ consumer, messageId })
    .onConflictDoNothing()
    .returning({ id: processedMessages.messageId });
  return rows.length > 0;
}

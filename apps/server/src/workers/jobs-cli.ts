import type { Broker, QueueStats } from '../infra/broker/broker.ts';

export interface JobsStatus {
  queues: QueueStats[];
  totals: { depth: number; consumers: number; deadLetters: number };
}

/** `parley jobs status`: depth, consumers and dead letters of every queue, plus totals. */
export async function jobsStatus(broker: Broker): Promise<JobsStatus> {
  const queues = await broker.stats();
  return {
    queues,
    totals: {
      depth: queues.reduce((n, q) => n + q.depth, 0),
      consumers: queues.reduce((n, q) => n + q.consumers, 0),
      deadLetters: queues.reduce((n, q) => n + q.deadLetters, 0),
    },
  };
}

/** The status as an aligned text table, for a terminal. */
export function formatJobsStatus(status: JobsStatus): string {
  const rows = [
    ['queue', 'depth', 'consumers', 'dead letters'],
    ...status.queues.map((q) => [q.queue, String(q.depth), String(q.consumers), String(q.deadLetters)]),
    ['total', String(status.totals.depth), String(status.totals.consumers), String(status.totals.deadLetters)],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '))
    .join('\n');
}

/**
 * `parley jobs retry-dead [queue]`: moves dead-lettered messages back to their queue (every
 * queue when none is named), each with a fresh set of attempts. Returns how many per queue.
 */
export async function retryDead(broker: Broker, queue?: string): Promise<Record<string, number>> {
  const names = queue ? [queue] : (await broker.stats()).map((q) => q.queue);
  const moved: Record<string, number> = {};
  for (const name of names) moved[name] = await broker.retryDead(name);
  return moved;
}

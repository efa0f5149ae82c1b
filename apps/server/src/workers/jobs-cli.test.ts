import { describe, expect, it } from 'vitest';
import { formatJobsStatus, jobsStatus, retryDead } from './jobs-cli.ts';
import { MemoryBroker } from '../infra/broker/memory-broker.ts';
import { eventually } from './testing/worker-fixtures.ts';
import { WORKER_TOPOLOGY } from './worker-topology.ts';

// The worker topology with its retries made immediate, so a message dies within the test.
const fastRetries = () =>
  new MemoryBroker({
    topology: {
      ...WORKER_TOPOLOGY,
      queues: WORKER_TOPOLOGY.queues.map((q) => ({ ...q, backoffMs: 1, maxBackoffMs: 1 })),
    },
  });

describe('operator job commands', () => {
  it('shows depth, consumers and dead letters per queue, and retry-dead brings dead letters back', async () => {
    const broker = fastRetries();
    const failing = await broker.consume('worker.maintenance', async () => {
      throw new Error('broken');
    });
    await broker.publish('worker.maintenance.orphan-sweep', {});
    await broker.publish('notification.email.requested', { kind: 'x' });
    await eventually(
      'the dead letter',
      async () => (await jobsStatus(broker)).queues.find((q) => q.queue === 'worker.maintenance')!.deadLetters === 1,
    );
    await failing.close();

    const status = await jobsStatus(broker);
    expect(status.queues.map((q) => q.queue)).toEqual([
      'emotion.analysis',
      'scoring.process',
      'notification.email',
      'video.processing',
      'worker.maintenance',
      'emotion.batch',
      'report.rendering',
    ]);
    expect(status.queues.find((q) => q.queue === 'notification.email')).toMatchObject({ depth: 1, consumers: 0 });
    expect(status.totals).toEqual({ depth: 1, consumers: 0, deadLetters: 1 });
    expect(formatJobsStatus(status)).toMatch(/worker\.maintenance\s+0\s+0\s+1/);

    expect(await retryDead(broker)).toMatchObject({ 'worker.maintenance': 1, 'notification.email': 0 });
    const seen: unknown[] = [];
    const ok = await broker.consume('worker.maintenance', async (m) => void seen.push(m.routingKey));
    await eventually('the replayed job', async () => seen.length === 1);
    expect(seen).toEqual(['worker.maintenance.orphan-sweep']);
    expect((await jobsStatus(broker)).totals.deadLetters).toBe(0);
    await ok.close();
    await broker.close();
  });
});

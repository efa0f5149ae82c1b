import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MemoryBroker } from '../infra/broker/memory-broker.ts';
import type { Topology } from '../infra/broker/broker.ts';
import { defineJob, PermanentJobError, type JobDefinition } from './job.ts';
import { runJobs } from './job-runner.ts';
import { eventually, silentLogger } from './testing/worker-fixtures.ts';

const TOPOLOGY: Topology = {
  exchange: 'test.events',
  queues: [{ name: 'test.jobs', bindings: ['test.#'], maxAttempts: 3, backoffMs: 5, maxBackoffMs: 20 }],
};

function job(handle: JobDefinition<{ n: number }>['handle'], timeoutMs = 5_000) {
  return defineJob({
    name: 'test.job',
    queue: 'test.jobs',
    routingKeys: ['test.run'],
    payload: z.object({ n: z.number().int() }),
    timeoutMs,
    retry: { maxAttempts: 3, backoffMs: 5, maxBackoffMs: 20 },
    deadLetterQueue: 'test.jobs.dlq',
    idempotency: 'none (test)',
    handle,
  }) as JobDefinition<never>;
}

async function setup(definition: JobDefinition<never>) {
  const broker = new MemoryBroker({ topology: TOPOLOGY });
  const runner = await runJobs({ broker, logger: silentLogger(), jobs: [definition] });
  const dead = async () => (await broker.stats())[0]!.deadLetters;
  return {
    broker,
    dead,
    async close() {
      await runner.stop();
      await broker.close();
    },
  };
}

describe('job runner', () => {
  it('hands a valid payload to the handler once and acks it', async () => {
    const seen: number[] = [];
    const t = await setup(job(async (p) => void seen.push(p.n)));
    await t.broker.publish('test.run', { n: 7 });
    await eventually('the job to run', async () => seen.length === 1);
    expect(await t.dead()).toBe(0);
    await t.close();
    expect(seen).toEqual([7]);
  });

  it('retries a failing job with its attempts counted, then dead-letters it', async () => {
    const attempts: number[] = [];
    const t = await setup(
      job(async (_p, ctx) => {
        attempts.push(ctx.attempt);
        throw new Error('database down');
      }),
    );
    await t.broker.publish('test.run', { n: 1 });
    await eventually('the dead letter', async () => (await t.dead()) === 1);
    expect(attempts).toEqual([1, 2, 3]);
    await t.close();
  });

  it('does not retry a permanent failure and does not dead-letter it', async () => {
    let calls = 0;
    const t = await setup(
      job(async () => {
        calls++;
        throw new PermanentJobError('corrupt input');
      }),
    );
    await t.broker.publish('test.run', { n: 1 });
    await t.broker.publish('test.run', { n: 2 });
    await eventually('both attempts', async () => calls === 2);
    expect(await t.dead()).toBe(0);
    await t.close();
    expect(calls).toBe(2);
  });

  it('aborts a job that outlives its timeout and retries it', async () => {
    const aborted: boolean[] = [];
    const t = await setup(
      job(
        (_p, ctx) =>
          new Promise<void>((resolve) => {
            ctx.signal.addEventListener('abort', () => {
              aborted.push(ctx.signal.aborted);
              resolve();
            });
          }),
        30,
      ),
    );
    await t.broker.publish('test.run', { n: 1 });
    await eventually('the dead letter', async () => (await t.dead()) === 1);
    await t.close();
    expect(aborted).toEqual([true, true, true]);
  });

  it('keeps a message with an invalid payload (dead-lettered, never handled)', async () => {
    let calls = 0;
    const t = await setup(job(async () => void calls++));
    await t.broker.publish('test.run', { n: 'seven' });
    await eventually('the dead letter', async () => (await t.dead()) === 1);
    await t.close();
    expect(calls).toBe(0);
  });

  it('keeps a message no job handles', async () => {
    const t = await setup(job(async () => {}));
    await t.broker.publish('test.unknown', { n: 1 });
    await eventually('the dead letter', async () => (await t.dead()) === 1);
    await t.close();
  });
});

/**
 * `node --import tsx apps/server/src/emotion/cli/bench-consumer.ts [--frames 240] [--sessions 4] [--prefetch 1,2,4,8]`
 *
 * End-to-end throughput of the broker consumer in the embedded setup (in-memory broker, PGlite,
 * local encrypted storage): real 640×480 JPEG frames from `../shared/data/videos` (10 frames/s,
 * one clip per session) are stored, announced on `interview.frame.captured`, and timed until
 * every `interview.emotion.analyzed` is out. One run per prefetch value, each on a fresh
 * database. Needs Debian's ffmpeg (to take frames from the clips). The last line is one JSON object.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EMOTION_EVENTS, type TFrameCaptured } from '@parley/contracts';
import type Sharp from 'sharp';
import { MemoryBroker } from '../../infra/broker/memory-broker.ts';
import { INTERVIEW_EVENTS_TOPOLOGY } from '../../infra/broker/topology.ts';
import { MemoryCache } from '../../infra/cache/memory-cache.ts';
import { createTestDatabase } from '../../infra/db/testing.ts';
import { createLogger } from '../../infra/log.ts';
import { createLocalStorage } from '../../infra/storage/local-storage.ts';
import { createEmotionService, startEmotionConsumer } from '../index.ts';
import { seedAnalysableSession } from '../testing/seed-session.ts';
import { sharedDataPath } from '../testing/shared-data.ts';
import { readVideoFrames } from '../video/video-frames.ts';

const sharp = createRequire(import.meta.url)('sharp') as typeof Sharp;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

async function clipFrames(file: string, count: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const f of readVideoFrames(file, { fps: 10, width: 640, height: 480 })) {
    const { data, width, height } = f.image;
    out.push(
      new Uint8Array(
        await sharp(data, { raw: { width, height, channels: 3 } })
          .jpeg({ quality: 80 })
          .toBuffer(),
      ),
    );
    if (out.length === count) break;
  }
  return out;
}

async function main(): Promise<void> {
  const frames = Number(arg('frames', '240'));
  const sessions = Number(arg('sessions', '4'));
  const prefetches = arg('prefetch', '1,2,4,8').split(',').map(Number);
  const perSession = Math.ceil(frames / sessions);
  const clips = (await readdir(sharedDataPath('videos'))).filter((f) => f.endsWith('.mp4')).sort();
  const jpegs = await Promise.all(
    Array.from({ length: sessions }, (_, i) =>
      clipFrames(sharedDataPath(`videos/${clips[i % clips.length]}`), perSession),
    ),
  );
  const service = await createEmotionService();
  const logger = createLogger({ level: 'silent' });
  async function runOnce(prefetch: number, perSessionLimit: number) {
    const database = await createTestDatabase();
    const root = await mkdtemp(path.join(tmpdir(), 'parley-bench-consumer-'));
    const storage = await createLocalStorage({ root, masterKey: randomBytes(32) });
    const topology = {
      ...INTERVIEW_EVENTS_TOPOLOGY,
      queues: [
        ...INTERVIEW_EVENTS_TOPOLOGY.queues,
        { name: 'bench.analyzed', bindings: [EMOTION_EVENTS.emotionAnalyzed], maxAttempts: 1, backoffMs: 0 },
      ],
    };
    const broker = new MemoryBroker({ topology });
    let analysed = 0;
    let done: () => void = () => {};
    const finished = new Promise<void>((resolve) => (done = resolve));
    await broker.consume('bench.analyzed', async () => {
      if (++analysed === perSessionLimit * sessions) done();
    });
    const messages: TFrameCaptured[] = [];
    for (let s = 0; s < sessions; s++) {
      const ids = await seedAnalysableSession(database.primary, {});
      for (let i = 0; i < perSessionLimit; i++) {
        const storageKey = `orgs/${ids.orgId}/sessions/${ids.sessionId}/frames/${i}.jpg`;
        await storage.put(storageKey, jpegs[s]![i]!, 'image/jpeg');
        messages.push({ ...ids, frameId: randomUUID(), seq: i, capturedAt: 1_750_000_000_000 + i * 100, storageKey });
      }
    }
    // Interleave sessions as live streams would arrive.
    messages.sort((a, b) => a.seq - b.seq);
    const cache = new MemoryCache();
    const consumer = await startEmotionConsumer({
      broker,
      database,
      storage,
      cache,
      logger,
      service,
      options: { prefetch },
    });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (const m of messages) await broker.publish(EMOTION_EVENTS.frameCaptured, m);
    await finished;
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const run = {
      prefetch,
      frames: messages.length,
      wall_fps: Number(((messages.length * 1000) / wallMs).toFixed(1)),
      fps_per_cpu_second: Number(((messages.length * 1000) / cpuMs).toFixed(1)),
      ms_per_frame_cpu: Number((cpuMs / messages.length).toFixed(1)),
    };
    if (perSessionLimit === perSession)
      console.log(
        `prefetch ${prefetch}\tframes ${run.frames}\twall fps ${run.wall_fps}\tfps/cpu-s ${run.fps_per_cpu_second}\tcpu ms/frame ${run.ms_per_frame_cpu}`,
      );
    await consumer.stop();
    await broker.close();
    await cache.close();
    await storage.close();
    await database.close();
    await rm(root, { recursive: true, force: true });
    return run;
  }

  // Warm-up (JIT, WASM compilation, model first runs), not reported: without it the first
  // prefetch value measured is the slowest whatever it is.
  await runOnce(prefetches[0] ?? 1, Math.min(perSession, 15));
  const runs = [];
  for (const prefetch of prefetches) runs.push(await runOnce(prefetch, perSession));
  await service.close();
  console.log(JSON.stringify({ sessions, frames: perSession * sessions, runs }));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

/**
 * `npm run bench:realtime [-- --ladder 25,50,100,200 --seconds 6 --fps 2 --db postgres]`: how many
 * candidate sockets one realtime process holds, streaming real 640×480 JPEGs, and its memory per
 * socket.
 *
 * The server is a child process (so its RSS is its own): the realtime module on a listening
 * Fastify with the database on PostgreSQL (a scratch database on TEST_DATABASE_URL, as a realtime
 * process of a split deployment has it; `--db pglite` puts PGlite in the child instead, whose
 * WebAssembly heap grows with every frame row and hides the sockets' share), encrypted local
 * storage in a temp dir, the in-process broker with a consumer that takes `emotion.analysis`
 * messages as the emotion role would, and the in-memory cache. This process opens N sockets, one
 * per seeded in-progress session, each sending binary frames at `--fps` (spread evenly), and
 * measures each frame's time from send to `frame.ack`. Frames are cut with `ffmpeg -nostdin` from
 * ../shared/data/videos.
 *
 * Memory is measured on a second, fresh server (V8 keeps heap it has grown, so a server that ran
 * the ladder would hide the sockets' share): it runs with `--expose-gc` and, asked on stdin,
 * collects garbage twice and reports its RSS. Baseline: no socket open (N = 0) after a two-socket
 * warm-up; then `--rss-sockets` sockets (default: the ladder's top) authenticated and idle
 * (`connectedRssPerSocketKb` = (RSS − baseline) / N), then the same sockets right after streaming
 * for `--seconds` (`rssPerSocketKb`). The ladder's stages report their peak RSS (`serverPeakRssMb`,
 * no collection).
 *
 * For each N: acked frames/s, p50/p95/p99 ack latency (ms), drops/errors and the memory figures.
 * A last stage sends `--burst-sockets` sockets at 8 frames/s (just under the 10/s limit) for the
 * throughput one process sustains. The largest N with p99 < 100 ms is reported. The last stdout
 * line is one JSON object. Figures are for this machine and run only; compare within a run.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { encodeBinaryFrame } from '@parley/contracts';
import WebSocket from 'ws';

const here = dirname(fileURLToPath(import.meta.url));
const VIDEOS = resolve(here, '../../shared/data/videos');
/** Just under the 10/s per-socket limit, so timer jitter on this side does not trip it. */
const BURST_FPS = 8;

const { values: args } = parseArgs({
  options: {
    serve: { type: 'boolean', default: false },
    sessions: { type: 'string', default: '400' },
    ladder: { type: 'string', default: '25,50,100,200,400' },
    seconds: { type: 'string', default: '6' },
    fps: { type: 'string', default: '2' },
    'burst-sockets': { type: 'string', default: '100' },
    db: { type: 'string', default: 'postgres' },
    'rss-sockets': { type: 'string' },
  },
});

if (args.serve) await serve(Number(args.sessions), args.db === 'pglite' ? 'pglite' : 'postgres');
else await main();

// ---------------------------------------------------------------------------------------------
// Server (child process)

async function serve(sessions: number, db: 'postgres' | 'pglite'): Promise<void> {
  const { seedSession, startRealtimeServer, TokenTable } = await import('../apps/server/src/realtime/testing.ts');
  const { database, drop } = await openDatabase(db);
  const tokens = new TokenTable();
  const server = await startRealtimeServer({
    database,
    authenticate: tokens.authenticate,
    // Heartbeats and polls at their production periods; frames limited as in production.
    rateLimit: { wsFramesPerSec: 10 },
  });
  const consumer = await server.broker.consume('emotion.analysis', async () => {}, { prefetch: 64 });
  const issued: string[] = [];
  for (let i = 0; i < sessions; i++) issued.push(tokens.issue((await seedSession(database.db)).candidate));
  process.stdout.write(`${JSON.stringify({ wsUrl: server.wsUrl, tokens: issued })}\n`);
  // One request per line: `mem` → the RSS after collecting garbage, as one JSON line.
  const requests = createInterface({ input: process.stdin });
  requests.on('line', (line) => {
    if (line.trim() !== 'mem') return;
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    const usage = process.memoryUsage();
    const kb = (bytes: number) => Math.round(bytes / 1024);
    process.stdout.write(
      `${JSON.stringify({ rssKb: kb(usage.rss), liveKb: kb(usage.heapUsed + usage.external), gc: !!gc })}\n`,
    );
  });
  requests.on('close', () => {
    void (async () => {
      await consumer.close();
      await server.close();
      await database.close();
      await drop();
      process.exit(0);
    })();
  });
}

/** A migrated database for the child: a scratch PostgreSQL database (dropped on exit) or PGlite in memory. */
async function openDatabase(db: 'postgres' | 'pglite') {
  if (db === 'pglite') {
    const { createTestDatabase } = await import('../apps/server/src/infra/db/testing.ts');
    return { database: await createTestDatabase(), drop: async () => {} };
  }
  const { createScratchDatabase } = await import('../apps/server/src/infra/db/postgres-test-databases.ts');
  const { PostgresDatabase } = await import('../apps/server/src/infra/db/postgres-database.ts');
  const scratch = await createScratchDatabase(
    process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    'bench',
  );
  const database = new PostgresDatabase({ url: scratch.url, poolMax: 10 });
  await database.migrate();
  return { database, drop: scratch.drop };
}

// ---------------------------------------------------------------------------------------------
// Load generator (this process)

interface Stage {
  sockets: number;
  fpsPerSocket: number;
  offeredFps: number;
  ackedFps: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  dropped: number;
  errors: number;
  /** Peak RSS during the stage, sampled every 250 ms without collecting garbage. */
  serverPeakRssMb: number;
}

async function main(): Promise<void> {
  const jpegs = cutFrames(4);
  const ladder = args.ladder.split(',').map(Number);
  const sessions = Math.max(...ladder, Number(args['burst-sockets']));
  const seconds = Number(args.seconds);
  const fps = Number(args.fps);

  const db = args.db === 'pglite' ? 'pglite' : 'postgres';
  const rssSockets = Number(args['rss-sockets'] ?? ladder.at(-1));

  // Latency and throughput: one server through the ladder.
  const server = await startServerChild(sessions, db);
  console.log(
    `server ready (database: ${db}): ${sessions} sessions; frames ${jpegs.map((j) => j.length).join('/')} bytes`,
  );
  // Warm-up (JIT, pools, caches), not reported.
  await runStage(server.wsUrl, server.tokens.slice(0, Math.min(20, sessions)), jpegs, fps, 2, server.pid);
  const stages: Stage[] = [];
  for (const n of ladder) {
    const stage = await runStage(server.wsUrl, server.tokens.slice(0, n), jpegs, fps, seconds, server.pid);
    stages.push(stage);
    console.log(JSON.stringify(stage));
  }
  const burst = await runStage(
    server.wsUrl,
    server.tokens.slice(0, Number(args['burst-sockets'])),
    jpegs,
    BURST_FPS,
    seconds,
    server.pid,
  );
  console.log(JSON.stringify({ burst }));
  await server.stop();

  // Memory per socket: a fresh server, so no earlier stage's heap (kept by V8 once grown) hides
  // the sockets' share. Warmed up with two sockets, so code loaded on first use is in the baseline.
  const fresh = await startServerChild(sessions, db);
  await runStage(fresh.wsUrl, fresh.tokens.slice(0, 2), jpegs, fps, 2, fresh.pid);
  const baseline = await fresh.mem();
  let connected = baseline;
  let streamed = baseline;
  const memoryStage = await runStage(fresh.wsUrl, fresh.tokens.slice(0, rssSockets), jpegs, fps, seconds, fresh.pid, {
    connected: async () => {
      connected = await fresh.mem();
    },
    streamed: async () => {
      streamed = await fresh.mem();
    },
  });
  const afterClose = await fresh.mem();
  await fresh.stop();
  const perSocketKb = (mb: number, base: number) => round(((mb - base) * 1024) / rssSockets);
  const memory = {
    sockets: rssSockets,
    baselineRssMb: round(baseline.rss),
    connectedRssMb: round(connected.rss),
    streamedRssMb: round(streamed.rss),
    afterCloseRssMb: round(afterClose.rss),
    connectedRssPerSocketKb: perSocketKb(connected.rss, baseline.rss),
    rssPerSocketKb: perSocketKb(streamed.rss, baseline.rss),
    /** The same over live memory (heap used + external): what the sockets hold, without allocator slack. */
    connectedLivePerSocketKb: perSocketKb(connected.live, baseline.live),
    streamedLivePerSocketKb: perSocketKb(streamed.live, baseline.live),
    afterCloseLiveMb: round(afterClose.live),
    baselineLiveMb: round(baseline.live),
    p99Ms: memoryStage.p99Ms,
    dropped: memoryStage.dropped,
  };
  console.log(JSON.stringify({ memory }));

  const holding = stages.filter((s) => s.p99Ms < 100 && s.dropped === 0 && s.errors === 0);
  const best = holding.at(-1);
  console.log(
    JSON.stringify({
      bench: 'realtime',
      database: db,
      fpsPerSocket: fps,
      seconds,
      frameBytes: jpegs.map((j) => j.length),
      loadAverage1m: round(os.loadavg()[0]!),
      largestSocketsWithP99Under100ms: best?.sockets ?? 0,
      ladderTop: ladder.at(-1),
      rssPerSocketKb: memory.rssPerSocketKb,
      connectedRssPerSocketKb: memory.connectedRssPerSocketKb,
      memory,
      stages,
      maxThroughput: burst,
    }),
  );
}

/** The server child (see `serve`), with a probe of its RSS after garbage collection. */
async function startServerChild(sessions: number, db: 'postgres' | 'pglite') {
  const child = spawn(
    process.execPath,
    [
      '--expose-gc',
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      '--serve',
      '--sessions',
      String(sessions),
      '--db',
      db,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const nextLine = lineReader(createInterface({ input: child.stdout }), child);
  const { wsUrl, tokens } = JSON.parse(await nextLine()) as { wsUrl: string; tokens: string[] };
  return {
    wsUrl,
    tokens,
    pid: child.pid!,
    /** RSS and live memory (V8 heap used + external buffers) in MB, after two full collections. */
    async mem(): Promise<{ rss: number; live: number }> {
      child.stdin.write('mem\n');
      const reply = JSON.parse(await nextLine()) as { rssKb: number; liveKb: number; gc: boolean };
      if (!reply.gc) throw new Error('the server child runs without --expose-gc');
      return { rss: reply.rssKb / 1024, live: reply.liveKb / 1024 };
    },
    async stop(): Promise<void> {
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin.end();
      await exited;
    },
  };
}

async function runStage(
  wsUrl: string,
  tokens: string[],
  jpegs: Uint8Array[],
  fps: number,
  seconds: number,
  serverPid: number,
  probe: { connected?: () => Promise<void>; streamed?: () => Promise<void> } = {},
): Promise<Stage> {
  const latencies: number[] = [];
  let dropped = 0;
  let errors = 0;
  let acked = 0;
  let measuring = false;
  const sockets = await Promise.all(
    tokens.map(
      (token) =>
        new Promise<WebSocket>((res, rej) => {
          const ws = new WebSocket(`${wsUrl}?access_token=${encodeURIComponent(token)}`);
          // Authenticated at the upgrade; `ready` says the server holds the connection.
          ws.once('message', () => res(ws));
          ws.once('error', rej);
        }),
    ),
  );
  // Memory of the open, idle sockets (authenticated, nothing sent yet).
  await probe.connected?.();
  // Every stage starts its sessions' seqs after the previous stage's.
  const base = Date.now() % 1_000_000_000;
  const timers: NodeJS.Timeout[] = [];
  sockets.forEach((ws, i) => {
    const sent = new Map<number, number>();
    let seq = base;
    ws.on('message', (data: Buffer) => {
      const m = JSON.parse(data.toString('utf8')) as { type: string; seq?: number };
      if (m.type === 'frame.ack' && m.seq !== undefined) {
        const at = sent.get(m.seq);
        sent.delete(m.seq);
        if (at !== undefined && measuring) {
          latencies.push(performance.now() - at);
          acked++;
        }
      } else if (m.type === 'frame.dropped') {
        if (measuring) dropped++;
      } else if (m.type === 'error') {
        if (measuring) errors++;
      }
    });
    const period = 1000 / fps;
    const start = setTimeout(
      () => {
        const tick = () => {
          const s = seq++;
          sent.set(s, performance.now());
          ws.send(encodeBinaryFrame({ seq: s }, jpegs[s % jpegs.length]!));
        };
        tick();
        timers.push(setInterval(tick, period));
      },
      (period * i) / sockets.length,
    );
    timers.push(start);
  });
  // One second of warm-up, then the measured window.
  await sleep(1000);
  measuring = true;
  const t0 = performance.now();
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(serverPid))), 250);
  await sleep(seconds * 1000);
  const elapsed = (performance.now() - t0) / 1000;
  for (const t of timers) clearInterval(t);
  clearInterval(sampler);
  // Let the last acks arrive before closing.
  await sleep(500);
  measuring = false;
  peakRss = Math.max(peakRss, rssMb(serverPid));
  await probe.streamed?.();
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((r) => {
          ws.once('close', () => r());
          ws.close();
        }),
    ),
  );
  // Let the server finish what it took before the next stage.
  await sleep(2000);
  latencies.sort((a, b) => a - b);
  const q = (p: number) => round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN);
  return {
    sockets: sockets.length,
    fpsPerSocket: fps,
    offeredFps: sockets.length * fps,
    ackedFps: round(acked / elapsed),
    p50Ms: q(0.5),
    p95Ms: q(0.95),
    p99Ms: q(0.99),
    dropped,
    errors,
    serverPeakRssMb: round(peakRss),
  };
}

/** One 640×480 JPEG from each of the first `count` clips. */
function cutFrames(count: number): Uint8Array[] {
  const clips = readdirSync(VIDEOS)
    .filter((f) => f.endsWith('.mp4'))
    .sort()
    .slice(0, count);
  if (clips.length === 0) throw new Error(`no videos in ${VIDEOS}`);
  return clips.map(
    (clip) =>
      new Uint8Array(
        execFileSync(
          'ffmpeg',
          [
            '-nostdin',
            '-loglevel',
            'error',
            '-ss',
            '1',
            '-i',
            join(VIDEOS, clip),
            '-frames:v',
            '1',
            '-vf',
            'scale=640:480',
            '-q:v',
            '4',
            '-f',
            'image2pipe',
            '-c:v',
            'mjpeg',
            'pipe:1',
          ],
          { maxBuffer: 8 * 1024 * 1024 },
        ),
      ),
  );
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** Reads the child's stdout one line at a time, in order; fails if the child exits. */
function lineReader(lines: Interface, child: ChildProcess): () => Promise<string> {
  const buffered: string[] = [];
  const waiting: { resolve: (line: string) => void; reject: (err: Error) => void }[] = [];
  lines.on('line', (line) => {
    const waiter = waiting.shift();
    if (waiter) waiter.resolve(line);
    else buffered.push(line);
  });
  child.once('exit', (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`server exited with ${code}`));
  });
  return () =>
    buffered.length > 0
      ? Promise.resolve(buffered.shift()!)
      : new Promise((resolve, reject) => waiting.push({ resolve, reject }));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

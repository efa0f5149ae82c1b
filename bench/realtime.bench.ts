/**
 * `npm run bench:realtime [-- --ladder 25,50,100,200 --seconds 6 --fps 2]`: how many candidate
 * sockets one realtime process holds, streaming real 640×480 JPEGs.
 *
 * The server is a child process (so its RSS is its own): the realtime module on a listening
 * Fastify with the embedded adapters (PGlite in memory, encrypted local storage in a temp dir,
 * in-process broker with a consumer that takes `emotion.analysis` messages as the emotion role
 * would, in-memory cache). This process opens N sockets, one per seeded in-progress session,
 * each sending binary frames at `--fps` (spread evenly), and measures each frame's time from
 * send to `frame.ack`. Frames are cut with `ffmpeg -nostdin` from ../shared/data/videos.
 *
 * For each N: acked frames/s, p50/p95/p99 ack latency (ms), drops/errors, server RSS and RSS per
 * socket over the idle server (peak RSS during the stage, so GC noise is in it). A last stage
 * sends `--burst-sockets` sockets at 8 frames/s (just under the 10/s limit) for the throughput
 * one process sustains. The largest N with p99 < 100 ms is reported. The last stdout
 * line is one JSON object. Figures are for this machine and run only; compare within a run.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
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
  },
});

if (args.serve) await serve(Number(args.sessions));
else await main();

// ---------------------------------------------------------------------------------------------
// Server (child process)

async function serve(sessions: number): Promise<void> {
  const { createTestDatabase } = await import('../apps/server/src/infra/db/testing.ts');
  const { seedSession, startRealtimeServer, TokenTable } = await import('../apps/server/src/realtime/testing.ts');
  const database = await createTestDatabase();
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
  process.stdin.resume();
  process.stdin.on('end', () => {
    void (async () => {
      await consumer.close();
      await server.close();
      await database.close();
      process.exit(0);
    })();
  });
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
  serverRssMb: number;
  rssPerSocketKb: number;
  /** RSS growth from opening the stage's sockets, before any frame, per socket. */
  connectedRssPerSocketKb: number;
}

async function main(): Promise<void> {
  const jpegs = cutFrames(4);
  const ladder = args.ladder.split(',').map(Number);
  const sessions = Math.max(...ladder, Number(args['burst-sockets']));
  const seconds = Number(args.seconds);
  const fps = Number(args.fps);

  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', '--sessions', String(sessions)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const { wsUrl, tokens } = JSON.parse(await firstLine(child)) as { wsUrl: string; tokens: string[] };
  const idleRss = rssMb(child.pid!);
  console.log(
    `server ready: ${sessions} sessions, idle RSS ${idleRss.toFixed(1)} MB; frames ${jpegs.map((j) => j.length).join('/')} bytes`,
  );

  // Warm-up (JIT, PGlite caches), not reported.
  await runStage(wsUrl, tokens.slice(0, Math.min(20, tokens.length)), jpegs, fps, 2, child.pid!, idleRss);
  const stages: Stage[] = [];
  for (const n of ladder) {
    const stage = await runStage(wsUrl, tokens.slice(0, n), jpegs, fps, seconds, child.pid!, idleRss);
    stages.push(stage);
    console.log(JSON.stringify(stage));
  }
  const burst = await runStage(
    wsUrl,
    tokens.slice(0, Number(args['burst-sockets'])),
    jpegs,
    BURST_FPS,
    seconds,
    child.pid!,
    idleRss,
  );
  console.log(JSON.stringify({ burst }));

  child.stdin.end();
  await new Promise((r) => child.once('exit', r));

  const holding = stages.filter((s) => s.p99Ms < 100 && s.dropped === 0 && s.errors === 0);
  const best = holding.at(-1);
  console.log(
    JSON.stringify({
      bench: 'realtime',
      fpsPerSocket: fps,
      seconds,
      frameBytes: jpegs.map((j) => j.length),
      idleRssMb: round(idleRss),
      largestSocketsWithP99Under100ms: best?.sockets ?? 0,
      ladderTop: ladder.at(-1),
      rssPerSocketKb: best?.rssPerSocketKb ?? null,
      connectedRssPerSocketKb: best?.connectedRssPerSocketKb ?? null,
      stages,
      maxThroughput: burst,
    }),
  );
}

async function runStage(
  wsUrl: string,
  tokens: string[],
  jpegs: Uint8Array[],
  fps: number,
  seconds: number,
  serverPid: number,
  idleRss: number,
): Promise<Stage> {
  const latencies: number[] = [];
  let dropped = 0;
  let errors = 0;
  let acked = 0;
  let measuring = false;
  const rssBefore = rssMb(serverPid);
  const sockets = await Promise.all(
    tokens.map(
      (token) =>
        new Promise<WebSocket>((res, rej) => {
          const ws = new WebSocket(`${wsUrl}?access_token=${encodeURIComponent(token)}`);
          ws.once('open', () => res(ws));
          ws.once('error', rej);
        }),
    ),
  );
  // Memory of the open, idle sockets (authenticated, nothing sent yet).
  await sleep(500);
  const connectedRssPerSocketKb = round(((rssMb(serverPid) - rssBefore) * 1024) / sockets.length);
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
    serverRssMb: round(peakRss),
    rssPerSocketKb: round(((peakRss - idleRss) * 1024) / sockets.length),
    connectedRssPerSocketKb,
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

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((res, rej) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', res);
    child.once('exit', (code) => rej(new Error(`server exited with ${code}`)));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

/**
 * `npm run bench:emotion [-- --frames N]`: throughput of the emotion pipeline against the
 * baseline, measured in the same run.
 *
 * Frames: 640×480 JPEGs cut with `ffmpeg -nostdin` from every clip in ../shared/data/videos
 * (N consecutive frames at 30 fps from each, so a tracker sees real motion), in a temp dir.
 * Each pipeline runs in its own child process (so RSS is its own), one after the other,
 * from JPEG bytes to result, decode included:
 * - ours: ONNX Runtime (1 intra-op thread) with face tracking, the detector re-run every 1 s of
 *   video time (and whenever a face is lost), plus our stateless mode (detector on every frame);
 * - baseline: @vladmandic/human 3.3 on tfjs-backend-wasm (SIMD, single thread): detector + mesh +
 *   iris + emotion, cacheSensitivity 0, everything else off.
 * fps_per_core = frames / CPU seconds of the process (user + system), so extra threads count;
 * p50/p95 are wall milliseconds per frame; rss_mb is the child's peak RSS.
 * `--rounds N` (default 2) runs the three pipelines N times in turn (baseline, ours, ours
 * stateless, then the reverse order, …) and pools each pipeline's rounds: on a shared machine the load drifts,
 * and one pipeline measured in a quiet minute against another in a busy one is not a fair ratio.
 * Each round's figures are printed; the spread between rounds shows how much the load moved.
 * The last stdout line is one JSON object.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type Sharp from 'sharp';
import { createEmotionAnalyzer } from '../apps/server/src/emotion/index.ts';

const here = dirname(fileURLToPath(import.meta.url));
const VIDEOS = resolve(here, '../../shared/data/videos');
const WARMUP = 10;

interface RunResult {
  name: string;
  frames: number;
  cpuSeconds: number;
  wallSeconds: number;
  p50: number;
  p95: number;
  rssMb: number;
  facesPerFrame: number;
  detectorRuns?: number;
  /** Wall milliseconds of every frame (pooled over rounds for the percentiles). */
  ms: number[];
}

function extractFrames(perClip: number): { dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'emotion-bench-'));
  for (const clip of readdirSync(VIDEOS)
    .filter((f) => f.endsWith('.mp4'))
    .sort()) {
    const name = basename(clip, '.mp4');
    execFileSync('ffmpeg', [
      '-nostdin',
      '-v',
      'error',
      '-ss',
      '2',
      '-i',
      join(VIDEOS, clip),
      '-frames:v',
      String(perClip),
      '-vf',
      'scale=640:480',
      '-q:v',
      '3',
      join(dir, `${name}_%04d.jpg`),
    ]);
  }
  return { dir };
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;

async function timeFrames(
  name: string,
  files: string[],
  analyze: (bytes: Uint8Array, ts: number, clip: string) => Promise<number>,
): Promise<RunResult> {
  const frames = files.map((f) => ({
    bytes: new Uint8Array(readFileSync(f)),
    clip: basename(f).replace(/_\d+\.jpg$/, ''),
    n: Number(/_(\d+)\.jpg$/.exec(f)?.[1]),
  }));
  for (const f of frames.slice(0, WARMUP)) await analyze(f.bytes, ((f.n - 1) * 1000) / 30, `warmup-${f.clip}`);
  const ms: number[] = [];
  let faces = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const f of frames) {
    const s = performance.now();
    faces += await analyze(f.bytes, ((f.n - 1) * 1000) / 30, f.clip);
    ms.push(performance.now() - s);
  }
  const wallSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  ms.sort((a, b) => a - b);
  return {
    name,
    frames: frames.length,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    wallSeconds,
    p50: pct(ms, 0.5),
    p95: pct(ms, 0.95),
    rssMb: process.resourceUsage().maxRSS / 1024,
    facesPerFrame: faces / frames.length,
    ms,
  };
}

async function runOurs(files: string[], mode: 'tracked' | 'stateless'): Promise<RunResult> {
  const analyzer = await createEmotionAnalyzer();
  const streams = new Map<string, ReturnType<typeof analyzer.openStream>>();
  let detectorRuns = 0;
  const result = await timeFrames(`ours-${mode}`, files, async (bytes, ts, clip) => {
    let r;
    if (mode === 'stateless') r = await analyzer.analyzeFrame(bytes, ts);
    else {
      let s = streams.get(clip);
      if (!s) streams.set(clip, (s = analyzer.openStream()));
      r = await s.analyze(bytes, ts);
    }
    if (!r.ok) throw new Error(r.error.message);
    if (r.detectorRan && !clip.startsWith('warmup')) detectorRuns++;
    return r.faceCount;
  });
  await analyzer.close();
  return { ...result, detectorRuns };
}

async function runBaseline(files: string[]): Promise<RunResult> {
  const require = createRequire(join(here, '../apps/server/package.json'));
  // Human's Node entry loads tfjs-node (not installable here); its wasm build is not in `exports`.
  const humanEntry = require.resolve('@vladmandic/human').replace(/human\.node\.js$/, 'human.node-wasm.js');
  const modelDir = join(dirname(humanEntry), '..', 'models') + '/';
  const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/';
  // Node's fetch refuses file:// URLs: serve model files from disk for Human's loader.
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (url: string | URL | Request, init?: RequestInit) => {
    const u = typeof url === 'string' ? url : url instanceof URL ? url.href : url.url;
    if (u.startsWith('file://')) return new Response(readFileSync(fileURLToPath(u)));
    return realFetch(url, init);
  };
  const H = require(humanEntry) as { Human: new (c: unknown) => HumanLike };
  const sharp = require('sharp') as typeof Sharp;
  sharp.concurrency(1);
  const human = new H.Human({
    backend: 'wasm',
    wasmPath: wasmDir,
    modelBasePath: `file://${modelDir}`,
    cacheSensitivity: 0,
    debug: false,
    face: {
      enabled: true,
      detector: { maxDetected: 10, rotation: false },
      mesh: { enabled: true },
      iris: { enabled: true },
      emotion: { enabled: true },
      description: { enabled: false },
      antispoof: { enabled: false },
      liveness: { enabled: false },
    },
    body: { enabled: false },
    hand: { enabled: false },
    object: { enabled: false },
    gesture: { enabled: false },
    segmentation: { enabled: false },
    filter: { enabled: false },
  });
  await human.load();
  await human.warmup?.();
  return timeFrames('baseline-human-wasm', files, async (bytes) => {
    const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const t = human.tf.tensor3d(new Uint8Array(data), [info.height, info.width, 3], 'int32');
    const r = await human.detect(t);
    human.tf.dispose(t);
    return r.face.length;
  });
}

interface HumanLike {
  load(): Promise<void>;
  warmup?(): Promise<unknown>;
  detect(input: unknown): Promise<{ face: unknown[] }>;
  tf: { tensor3d(d: Uint8Array, s: number[], t: string): unknown; dispose(t: unknown): void };
}

async function child(which: string, listFile: string): Promise<void> {
  const files = readFileSync(listFile, 'utf8').split('\n').filter(Boolean);
  const r =
    which === 'baseline'
      ? await runBaseline(files)
      : await runOurs(files, which === 'stateless' ? 'stateless' : 'tracked');
  console.log(JSON.stringify(r));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      frames: { type: 'string', default: '60' },
      rounds: { type: 'string', default: '2' },
      child: { type: 'string' },
      list: { type: 'string' },
    },
  });
  if (values.child) return child(values.child, values.list as string);
  const { dir } = extractFrames(Number(values.frames));
  const list = join(dir, 'frames.txt');
  execFileSync('sh', ['-c', `ls ${dir}/*.jpg > ${list}`]);
  const runs: Record<string, RunResult[]> = { baseline: [], tracked: [], stateless: [] };
  const rounds = Number(values.rounds);
  try {
    for (let round = 1; round <= rounds; round++) {
      // Every other round in reverse order, so a steady drift in load falls on both sides alike.
      const order = ['baseline', 'tracked', 'stateless'];
      for (const which of round % 2 === 1 ? order : order.reverse()) {
        const p = spawnSync(
          process.execPath,
          ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', which, '--list', list],
          {
            encoding: 'utf8',
            maxBuffer: 1 << 26,
          },
        );
        const last = p.stdout.trim().split('\n').pop() ?? '';
        if (p.status !== 0) throw new Error(`${which} run failed: ${p.stderr.slice(-2000)}`);
        const r = JSON.parse(last) as RunResult;
        runs[which]?.push(r);
        console.log(
          `round ${round}  ${r.name.padEnd(22)} frames ${r.frames}  fps/core ${(r.frames / r.cpuSeconds).toFixed(1)}  wall fps ${(r.frames / r.wallSeconds).toFixed(1)}  p50 ${r.p50.toFixed(1)} ms  p95 ${r.p95.toFixed(1)} ms  rss ${r.rssMb.toFixed(0)} MB  faces/frame ${r.facesPerFrame.toFixed(2)}${r.detectorRuns !== undefined ? `  detector runs ${r.detectorRuns}` : ''}`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const results = Object.fromEntries(Object.entries(runs).map(([k, rs]) => [k, pool(rs)]));
  const ours = results.tracked as RunResult;
  const base = results.baseline as RunResult;
  const stateless = results.stateless as RunResult;
  const fps = ours.frames / ours.cpuSeconds;
  const baseFps = base.frames / base.cpuSeconds;
  console.log(
    JSON.stringify({
      frames: ours.frames / rounds,
      fps_per_core: Number(fps.toFixed(1)),
      baseline_fps_per_core: Number(baseFps.toFixed(1)),
      ratio: Number((fps / baseFps).toFixed(2)),
      p50_ms: Number(ours.p50.toFixed(1)),
      p95_ms: Number(ours.p95.toFixed(1)),
      rss_mb: Math.round(ours.rssMb),
      baseline: {
        p50_ms: Number(base.p50.toFixed(1)),
        p95_ms: Number(base.p95.toFixed(1)),
        rss_mb: Math.round(base.rssMb),
      },
      stateless: {
        fps_per_core: Number((stateless.frames / stateless.cpuSeconds).toFixed(1)),
        ratio: Number((stateless.frames / stateless.cpuSeconds / baseFps).toFixed(2)),
        p95_ms: Number(stateless.p95.toFixed(1)),
        rss_mb: Math.round(stateless.rssMb),
      },
      detector_runs: ours.detectorRuns,
      rounds,
      ratio_per_round: runs.tracked?.map((r, i) => {
        const b = runs.baseline?.[i] as RunResult;
        return Number((r.frames / r.cpuSeconds / (b.frames / b.cpuSeconds)).toFixed(2));
      }),
    }),
  );
}

/** One pipeline's rounds as one run: frames and CPU seconds summed, percentiles over every frame. */
function pool(rs: RunResult[]): RunResult {
  const first = rs[0] as RunResult;
  const ms = rs.flatMap((r) => r.ms).sort((a, b) => a - b);
  const frames = rs.reduce((s, r) => s + r.frames, 0);
  return {
    name: first.name,
    frames,
    cpuSeconds: rs.reduce((s, r) => s + r.cpuSeconds, 0),
    wallSeconds: rs.reduce((s, r) => s + r.wallSeconds, 0),
    p50: pct(ms, 0.5),
    p95: pct(ms, 0.95),
    rssMb: Math.max(...rs.map((r) => r.rssMb)),
    facesPerFrame: rs.reduce((s, r) => s + r.facesPerFrame * r.frames, 0) / frames,
    detectorRuns: first.detectorRuns,
    ms,
  };
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

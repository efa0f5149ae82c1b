import { spawn } from 'node:child_process';
import type { RgbImage } from '../image/rgb-image.ts';

export interface VideoFrame {
  index: number;
  timestampMs: number;
  image: RgbImage;
}

export class VideoReadError extends Error {
  override readonly name = 'VideoReadError';
  constructor(
    message: string,
    readonly reason: 'FFMPEG_MISSING' | 'UNREADABLE',
  ) {
    super(message);
  }
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'ENOENT' ? new VideoReadError(`${cmd} is not installed`, 'FFMPEG_MISSING') : e),
    );
    p.on('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(new VideoReadError(err.trim().split('\n').pop() ?? `${cmd} failed`, 'UNREADABLE')),
    );
  });
}

/** Width and height of the first video stream (Debian's ffprobe). */
export async function probeVideo(path: string): Promise<{ width: number; height: number; durationMs: number }> {
  const out = await run('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=width,height:format=duration',
    '-of',
    'json',
    path,
  ]);
  const j = JSON.parse(out) as { streams?: { width: number; height: number }[]; format?: { duration?: string } };
  const s = j.streams?.[0];
  if (!s) throw new VideoReadError('no video stream', 'UNREADABLE');
  return { width: s.width, height: s.height, durationMs: Number(j.format?.duration ?? 0) * 1000 };
}

/**
 * Decodes a video at `fps` frames per second with `ffmpeg -nostdin` into raw RGB frames, read
 * from a pipe (no temp files, no JPEG round trip). Back-pressure: ffmpeg waits while the caller
 * analyses a frame. Frame i has timestamp i / fps.
 */
export async function* readVideoFrames(
  path: string,
  opts: { fps: number; width?: number; height?: number; signal?: AbortSignal },
): AsyncGenerator<VideoFrame> {
  const probe = await probeVideo(path);
  const width = opts.width ?? probe.width;
  const height = opts.height ?? probe.height;
  const frameBytes = width * height * 3;
  const ff = spawn(
    'ffmpeg',
    [
      '-nostdin',
      '-v',
      'error',
      '-i',
      path,
      '-vf',
      `fps=${opts.fps},scale=${width}:${height}`,
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      'pipe:1',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], signal: opts.signal },
  );
  let stderr = '';
  ff.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => ff.on('close', resolve));
  ff.on('error', () => undefined); // surfaced through the exit code below
  let pending: Buffer = Buffer.alloc(0);
  let index = 0;
  try {
    for await (const chunk of ff.stdout as AsyncIterable<Buffer>) {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= frameBytes) {
        const data = new Uint8Array(pending.subarray(0, frameBytes));
        pending = pending.subarray(frameBytes);
        yield { index, timestampMs: (index * 1000) / opts.fps, image: { width, height, data } };
        index++;
      }
    }
    const code = await exited;
    if (code !== 0 && !opts.signal?.aborted)
      throw new VideoReadError(stderr.trim() || `ffmpeg exited with ${code}`, 'UNREADABLE');
  } finally {
    if (ff.exitCode === null) ff.kill('SIGKILL');
  }
}

import { spawn } from 'node:child_process';

/** ffmpeg or ffprobe exited non-zero (or could not start). `stderr` is the tail of its error output. */
export class MediaToolError extends Error {
  override readonly name = 'MediaToolError';
  constructor(
    message: string,
    readonly tool: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** What the demuxer says when the input itself is not a readable recording. */
const INPUT_DAMAGE =
  /Invalid data found when processing input|EBML header parsing failed|moov atom not found|End of file|ended prematurely|does not contain any stream|Output file #0 does not contain any stream|could not find codec parameters/i;

/** Whether a tool failure says the input is damaged (permanent) rather than the machine failing (retry). */
export function isInputDamage(err: unknown): boolean {
  return err instanceof MediaToolError && err.exitCode !== null && INPUT_DAMAGE.test(err.stderr);
}

/** A truncated recording: ffmpeg still exits 0, having decoded what was there. */
export const TRUNCATED_INPUT = /File ended prematurely/i;

const STDERR_LIMIT = 16 * 1024;

/**
 * Runs Debian's ffmpeg (or ffprobe) with `-nostdin`, so it never waits on or steals the worker's
 * terminal. Aborting the signal kills it. Resolves with stdout and the tail of stderr.
 */
export function runTool(
  tool: 'ffmpeg' | 'ffprobe',
  args: string[],
  options: { signal?: AbortSignal; cwd?: string } = {},
): Promise<{ stdout: string; stderr: string }> {
  const fullArgs = tool === 'ffmpeg' ? ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args] : args;
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(options.signal.reason instanceof Error ? options.signal.reason : new Error('aborted'));
      return;
    }
    const child = spawn(tool, fullArgs, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr = (stderr + c).slice(-STDERR_LIMIT);
    });
    const onAbort = () => child.kill('SIGKILL');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (err) => {
      options.signal?.removeEventListener('abort', onAbort);
      reject(new MediaToolError(`${tool} could not start: ${err.message}`, tool, null, ''));
    });
    child.once('close', (code, signal) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (options.signal?.aborted) {
        reject(options.signal.reason instanceof Error ? options.signal.reason : new Error(`${tool} aborted`));
      } else if (code === 0) {
        resolve({ stdout, stderr });
      } else {
        const why = stderr.trim().split('\n').slice(-3).join(' | ') || `signal ${signal ?? 'none'}`;
        reject(new MediaToolError(`${tool} exited with ${code ?? signal}: ${why}`, tool, code, stderr));
      }
    });
  });
}

export interface ProbeResult {
  durationMs: number | null;
  video: { codec: string; width: number; height: number } | null;
  audio: { codec: string } | null;
}

interface FfprobeJson {
  format?: { duration?: string };
  streams?: { codec_type?: string; codec_name?: string; width?: number; height?: number; duration?: string }[];
}

/** Streams and duration of a media file. */
export async function probe(file: string, signal?: AbortSignal): Promise<ProbeResult> {
  const { stdout } = await runTool(
    'ffprobe',
    ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file],
    { signal },
  );
  const json = JSON.parse(stdout) as FfprobeJson;
  const streams = json.streams ?? [];
  const v = streams.find((s) => s.codec_type === 'video');
  const a = streams.find((s) => s.codec_type === 'audio');
  const seconds = Number(json.format?.duration ?? v?.duration ?? a?.duration);
  return {
    durationMs: Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : null,
    video: v ? { codec: v.codec_name ?? 'unknown', width: v.width ?? 0, height: v.height ?? 0 } : null,
    audio: a ? { codec: a.codec_name ?? 'unknown' } : null,
  };
}

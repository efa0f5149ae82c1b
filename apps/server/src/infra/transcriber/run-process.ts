import { spawn } from 'node:child_process';
import { AppError } from '../../shared/app-error.ts';

export interface RunOptions {
  /** The process is killed (SIGKILL) after this long and the call fails with SERVICE_UNAVAILABLE. */
  timeoutMs: number;
  /** Stdout beyond this is an error: a runaway process must not grow server memory. */
  maxStdoutBytes?: number;
  /** Only the end of stderr is kept: pocketsphinx logs ~20 kB per run, errors come last. */
  stderrTailBytes?: number;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderrTail: string;
}

/**
 * Runs a program with an argument array (never through a shell, so file names are never
 * interpreted), no stdin, and a hard timeout. A program that is not installed fails with
 * SERVICE_UNAVAILABLE naming the script that installs it.
 */
export function runProcess(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const maxStdout = options.maxStdoutBytes ?? 16 * 1024 * 1024;
  const tailBytes = options.stderrTailBytes ?? 4096;
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], shell: false });
    const out: Buffer[] = [];
    let outBytes = 0;
    let errTail = Buffer.alloc(0);
    let failure: AppError | undefined;
    const fail = (error: AppError) => {
      failure ??= error;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(
      () => fail(new AppError('SERVICE_UNAVAILABLE', `${command} did not finish within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > maxStdout) fail(new AppError('INTERNAL', `${command} wrote more than ${maxStdout} bytes`));
      else out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      errTail = Buffer.concat([errTail, chunk]);
      if (errTail.length > tailBytes) errTail = errTail.subarray(errTail.length - tailBytes);
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ENOENT') {
        reject(
          new AppError(
            'SERVICE_UNAVAILABLE',
            `${command} is not installed; run scripts/services/transcriber-deps.sh (installs ffmpeg, pocketsphinx, pocketsphinx-en-us)`,
          ),
        );
      } else reject(new AppError('SERVICE_UNAVAILABLE', `${command} could not be started: ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (failure) reject(failure);
      else resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderrTail: errTail.toString('utf8') });
    });
  });
}

/** The last non-empty lines of a log, for an error message. */
export function lastLines(text: string, count = 2): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-count)
    .join(' | ');
}

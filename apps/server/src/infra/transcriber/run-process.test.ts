import { describe, expect, it } from 'vitest';
import { lastLines, runProcess } from './run-process.ts';
import { isAppError } from '../../shared/app-error.ts';

// The child is this Node binary running a one-line script: no external program is needed.
const node = process.execPath;

async function failure(promise: Promise<unknown>) {
  const err: unknown = await promise.then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  );
  if (!isAppError(err)) throw err;
  return err;
}

describe('runProcess', () => {
  it('returns the exit code, stdout and the tail of stderr', async () => {
    const r = await runProcess(
      node,
      ['-e', 'process.stdout.write("out"); process.stderr.write("x".repeat(100) + "\\nlast"); process.exit(3)'],
      { timeoutMs: 30_000, stderrTailBytes: 10 },
    );
    expect(r).toMatchObject({ code: 3, stdout: 'out' });
    expect(r.stderrTail).toBe('xxxxx\nlast');
  });

  it('passes arguments as they are, never through a shell', async () => {
    const r = await runProcess(node, ['-e', 'console.log(process.argv[1])', '$(echo hi); rm -rf /'], {
      timeoutMs: 30_000,
    });
    expect(r.stdout.trim()).toBe('$(echo hi); rm -rf /');
  });

  it('kills a process that runs past its timeout and fails with SERVICE_UNAVAILABLE', async () => {
    const err = await failure(runProcess(node, ['-e', 'setInterval(() => {}, 1000)'], { timeoutMs: 200 }));
    expect(err.code).toBe('SERVICE_UNAVAILABLE');
    expect(err.message).toMatch(/did not finish/);
  });

  it('stops a process that writes more than allowed', async () => {
    const err = await failure(
      runProcess(node, ['-e', 'setInterval(() => process.stdout.write("y".repeat(65536)), 1)'], {
        timeoutMs: 30_000,
        maxStdoutBytes: 100_000,
      }),
    );
    expect(err.code).toBe('INTERNAL');
  });

  it('fails with SERVICE_UNAVAILABLE naming the install script for a program that is not installed', async () => {
    const err = await failure(runProcess('/nonexistent/pocketsphinx_continuous', [], { timeoutMs: 30_000 }));
    expect(err.code).toBe('SERVICE_UNAVAILABLE');
    expect(err.message).toMatch(/not installed.*transcriber-deps\.sh/);
  });
});

describe('lastLines', () => {
  it('keeps the last non-empty lines, trimmed', () => {
    expect(lastLines('a\n\n  b  \nc\n\n')).toBe('b | c');
    expect(lastLines('only', 3)).toBe('only');
  });
});

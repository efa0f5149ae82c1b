/**
 * Boot of `parley start` on embedded defaults: time until GET /readyz answers 200, and the
 * process's resident memory then and after a short idle. Cold = a fresh data directory (PGlite
 * initdb + migrations + key generation); warm = the same directory again.
 *
 *   npm run bench:boot [-- --runs 3]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '2' } } });
const runs = Number(values.runs);
const CLI = path.resolve(import.meta.dirname, '..', 'apps', 'server', 'src', 'cli.ts');

const freePort = () =>
  new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function bootOnce(dataDir: string): Promise<{ readyMs: number; rssReady: number; rssIdle: number }> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'start'], {
    env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`parley exited with ${child.exitCode}`);
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const readyMs = performance.now() - started;
    const rssReady = await rssMiB(child.pid!);
    await new Promise((r) => setTimeout(r, 3000));
    return { readyMs, rssReady, rssIdle: await rssMiB(child.pid!) };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

const rows: string[] = [];
for (let i = 0; i < runs; i++) {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'parley-boot-bench-'));
  try {
    for (const kind of ['cold', 'warm'] as const) {
      const r = await bootOnce(dataDir);
      rows.push(
        `${kind.padEnd(5)} run ${i + 1}: /readyz 200 after ${(r.readyMs / 1000).toFixed(2)} s, ` +
          `RSS ${r.rssReady.toFixed(0)} MiB at ready, ${r.rssIdle.toFixed(0)} MiB after 3 s idle`,
      );
      console.log(rows.at(-1));
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

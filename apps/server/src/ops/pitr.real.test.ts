/**
 * Rehearses point-in-time recovery with the scripts in scripts/backup on this machine's
 * PostgreSQL 15: a throwaway cluster archives its WAL with pg-wal-archive.sh, is backed up with
 * pg-basebackup.sh, is lost (killed, data directory deleted), and is restored with
 * pg-pitr-restore.sh to a moment and to the end of the archive. Prints the measured figures for
 * docs/operations/backup-restore.md:
 *   npx vitest run --project real apps/server/src/ops/pitr.real.test.ts
 *   PITR_TEST_ROWS=1000000 npx vitest run --project real apps/server/src/ops/pitr.real.test.ts
 *
 * The test runs as root, so the server binaries run as `postgres` through runuser, like
 * scripts/services/postgres-replica.sh. The shared clusters on 5432/5433 are not touched.
 */
import { execFile } from 'node:child_process';
import { access, appendFile, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const execFileAsync = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const SCRIPTS = path.join(ROOT, 'scripts/backup');
const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
/** Rows in the base backup, and again written after it (the WAL that recovery replays). */
const ROWS = Number(process.env.PITR_TEST_ROWS ?? 100_000);
const AFTER_TARGET = 3;
const TIMEOUT = 120_000 + ROWS / 5;

const run = (file: string, args: string[], env: Record<string, string> = {}) =>
  execFileAsync(file, args, { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 });
const asPostgres = (file: string, args: string[], env: Record<string, string> = {}) =>
  run('runuser', ['-u', 'postgres', '--', file, ...args], env);

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.once('error', reject);
  });

async function sql<T extends object>(port: number, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}

async function one<T extends object>(port: number, text: string, params: unknown[] = []): Promise<T> {
  const [row] = await sql<T>(port, text, params);
  if (!row) throw new Error(`no row from: ${text}`);
  return row;
}

async function dirBytes(dir: string): Promise<number> {
  const sizes = await Promise.all((await readdir(dir)).map(async (f) => (await stat(path.join(dir, f))).size));
  return sizes.reduce((a, b) => a + b, 0);
}

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

async function until(what: string, limitSeconds: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + limitSeconds * 1000;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${limitSeconds}s`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;
const mib = (bytes: number) => Math.round(bytes / 1024 / 102.4) / 10;

/** A PostgreSQL server on a data directory of its own, run as `postgres` by pg_ctl. */
class Cluster {
  readonly log: string;
  constructor(
    readonly dir: string,
    readonly port: number,
  ) {
    this.log = `${dir}.log`;
  }

  /** Starts the server; `walArchiveDir` is the WAL_ARCHIVE_DIR its archive_command sees. */
  async start(walArchiveDir: string): Promise<void> {
    try {
      await asPostgres(
        path.join(PG_BIN, 'pg_ctl'),
        ['-D', this.dir, '-l', this.log, '-o', `-p ${this.port}`, '-w', '-t', String(TIMEOUT / 1000), 'start'],
        { WAL_ARCHIVE_DIR: walArchiveDir },
      );
    } catch (err) {
      throw new Error(`PostgreSQL did not start on ${this.dir}: ${String(err)}\n${await this.logTail()}`);
    }
  }

  /** Stops the server at once (no shutdown checkpoint, as in a crash); kills it if pg_ctl cannot. */
  async kill(): Promise<void> {
    await asPostgres(path.join(PG_BIN, 'pg_ctl'), ['-D', this.dir, '-m', 'immediate', '-w', 'stop']).catch(
      () => undefined,
    );
    const pid = Number((await readFile(path.join(this.dir, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0]);
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  async logText(): Promise<string> {
    return readFile(this.log, 'utf8').catch(() => '');
  }

  async logTail(): Promise<string> {
    return (await this.logText()).split('\n').slice(-30).join('\n');
  }

  /** Resolves once the server has left recovery (promoted); fails early if it stopped. */
  async waitPromoted(): Promise<void> {
    await until(`${this.dir} promoted`, TIMEOUT / 1000, async () => {
      if (!(await exists(path.join(this.dir, 'postmaster.pid'))))
        throw new Error(`PostgreSQL on ${this.dir} stopped during recovery\n${await this.logTail()}`);
      const rows = await sql<{ r: boolean }>(this.port, 'select pg_is_in_recovery() as r').catch(() => []);
      return rows[0]?.r === false;
    });
  }

  /** Forces a WAL switch and waits until pg_stat_archiver reports the segment archived. */
  async switchAndArchive(): Promise<{ segment: string; lsn: string }> {
    const sw = await one<{ segment: string; lsn: string }>(
      this.port,
      'select pg_walfile_name(l) as segment, l::text as lsn from pg_switch_wal() as l',
    );
    await until(`${sw.segment} archived`, 60, async () => {
      const a = await one<{ last: string | null; failed: number; lastFailed: string | null }>(
        this.port,
        `select last_archived_wal as last, failed_count::int as failed, last_failed_wal as "lastFailed"
         from pg_stat_archiver`,
      );
      if (a.failed > 0) throw new Error(`archive_command failed on ${a.lastFailed}\n${await this.logTail()}`);
      // Segment names of one timeline sort in WAL order; `last` may carry a .backup/.partial suffix.
      return (a.last?.slice(0, 24) ?? '') >= sw.segment;
    });
    return sw;
  }

  /** Row counts of the rehearsal table by phase. */
  async phases(): Promise<Record<string, number>> {
    const rows = await sql<{ phase: string; n: number }>(
      this.port,
      'select phase, count(*)::int as n from events group by phase order by phase',
    );
    return Object.fromEntries(rows.map((r) => [r.phase, r.n]));
  }
}

interface RestoreOptions {
  /** recovery_target_time; none replays everything archived. */
  targetTime?: string;
  /** recovery_target_timeline; PostgreSQL's default is `latest`. */
  timeline?: string;
  /** The archive to replay from. */
  from: string;
  /** Where the restored server's own archive_command writes. */
  archiveTo: string;
}

describe('point-in-time recovery (base backup + WAL archive)', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  let root = '';
  let archive = '';
  let baseBackup = '';
  let targetTime = '';
  const figures: Record<string, number> = {};

  /** Prints one restore's figures (printed, never asserted). */
  function report(what: string, rows: number, t: { unpackMs: number; replayMs: number; totalMs: number }) {
    console.log(
      `pitr figures ${JSON.stringify({
        case: what,
        rows,
        ...figures,
        unpackSeconds: seconds(t.unpackMs),
        replayAndPromoteSeconds: seconds(t.replayMs),
        restoreSeconds: seconds(t.totalMs),
      })}`,
    );
  }

  async function restore(name: string, options: RestoreOptions) {
    const cluster = new Cluster(path.join(root, name), await freePort());
    cleanup.push(() => cluster.kill());
    const started = performance.now();
    await run(path.join(SCRIPTS, 'pg-pitr-restore.sh'), [baseBackup, cluster.dir], {
      WAL_ARCHIVE_DIR: options.from,
      RECOVERY_TARGET_TIME: options.targetTime ?? '',
      RECOVERY_TARGET_TIMELINE: options.timeline ?? '',
    });
    const unpacked = performance.now();
    await cluster.start(options.archiveTo);
    await cluster.waitPromoted();
    const promoted = performance.now();
    return { cluster, unpackMs: unpacked - started, replayMs: promoted - unpacked, totalMs: promoted - started };
  }

  beforeAll(async () => {
    await access(path.join(PG_BIN, 'postgres')).catch(() => {
      throw new Error(`no PostgreSQL server binaries in ${PG_BIN}; run scripts/services/core.sh`);
    });
    root = await mkdtemp(path.join(os.tmpdir(), 'parley-pitr-'));
    cleanup.push(() => rm(root, { recursive: true, force: true }));
    await run('chown', ['postgres:', root]);
    archive = path.join(root, 'wal');

    // The primary, archiving as the runbook configures it.
    const primary = new Cluster(path.join(root, 'primary'), await freePort());
    cleanup.push(() => primary.kill());
    const initdb = ['-D', primary.dir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'];
    await asPostgres(path.join(PG_BIN, 'initdb'), initdb);
    await appendFile(
      path.join(primary.dir, 'postgresql.conf'),
      [
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${root}'`,
        'max_connections = 20',
        'wal_level = replica',
        'archive_mode = on',
        `archive_command = '${path.join(SCRIPTS, 'pg-wal-archive.sh')} %p %f'`,
        '',
      ].join('\n'),
    );
    await primary.start(archive);
    const insert = (phase: string, from: number, count: number) =>
      sql(
        primary.port,
        `insert into events (id, phase, payload)
         select g, $1, repeat(md5(g::text), 3) from generate_series($2::bigint, $3::bigint) g`,
        [phase, from, from + count - 1],
      );
    await sql(primary.port, 'create table events (id bigint primary key, phase text not null, payload text not null)');
    await insert('base', 1, ROWS);

    const { lsn: backupLsn } = await one<{ lsn: string }>(primary.port, 'select pg_current_wal_lsn()::text as lsn');
    const backupStarted = performance.now();
    baseBackup = (
      await run(path.join(SCRIPTS, 'pg-basebackup.sh'), [], {
        REPLICATION_URL: `postgres://postgres@127.0.0.1:${primary.port}/postgres`,
        BACKUP_DIR: path.join(root, 'backups'),
        STAMP: 'rehearsal',
      })
    ).stdout.trim();
    figures.baseBackupSeconds = seconds(performance.now() - backupStarted);
    figures.baseBackupMiB = mib(await dirBytes(baseBackup));

    // After the backup: rows committed before the target, the target, then rows after it.
    await insert('before', ROWS + 1, ROWS);
    // From the server's clock, after the commit above returned: every commit before it is earlier.
    targetTime = (await one<{ t: string }>(primary.port, 'select clock_timestamp()::text as t')).t;
    for (let i = 0; i < AFTER_TARGET; i++) await insert('after', 2 * ROWS + 1 + i, 1);
    const { lsn: archivedLsn } = await primary.switchAndArchive();
    const wal = await one<{ bytes: string }>(primary.port, 'select pg_wal_lsn_diff($1, $2)::text as bytes', [
      archivedLsn,
      backupLsn,
    ]);
    figures.walMiBSinceBaseBackup = mib(Number(wal.bytes));
    // Committed, but its segment is never archived: what a disaster now loses (the RPO).
    await insert('lost', 3 * ROWS, 1);

    // The disaster: the server dies and its data directory is gone.
    await primary.kill();
    await rm(primary.dir, { recursive: true, force: true });
  }, TIMEOUT);

  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  }, TIMEOUT);

  it(
    'restores to a moment: rows committed before it are back, later ones are not, and it takes writes',
    async () => {
      const ownArchive = path.join(root, 'wal-restored-to-target');
      const { cluster, unpackMs, replayMs, totalMs } = await restore('restored-to-target', {
        targetTime,
        from: archive,
        archiveTo: ownArchive,
      });

      expect(await cluster.phases()).toEqual({ base: ROWS, before: ROWS });
      const log = await cluster.logText();
      expect(log).toContain('recovery stopping before commit of transaction');
      expect(log).toContain('archive recovery complete');
      // Promoted: a primary on a new timeline, which it archives like the old one.
      await sql(cluster.port, `insert into events values (0, 'written after restore', '')`);
      expect((await cluster.phases())['written after restore']).toBe(1);
      await until('the new timeline archived', 30, () => exists(path.join(ownArchive, '00000002.history')));
      await cluster.kill();

      report('to a target time', 2 * ROWS, { unpackMs, replayMs, totalMs });
    },
    TIMEOUT,
  );

  it(
    'without a target, replays everything archived (and nothing after the last archived segment)',
    async () => {
      const { cluster, unpackMs, replayMs, totalMs } = await restore('restored-to-end', {
        from: archive,
        archiveTo: path.join(root, 'wal-restored-to-end'),
      });

      expect(await cluster.phases()).toEqual({ base: ROWS, before: ROWS, after: AFTER_TARGET });
      expect(await cluster.logText()).toContain('archive recovery complete');
      await sql(cluster.port, `insert into events values (0, 'written after restore', '')`);
      await cluster.kill();

      report('to the end of the archive', 2 * ROWS + AFTER_TARGET, { unpackMs, replayMs, totalMs });
    },
    TIMEOUT,
  );

  it(
    'once a restored server archives a new timeline into the same archive, "everything" means that timeline unless RECOVERY_TARGET_TIMELINE=current',
    async () => {
      // A copy, so that the other cases see the archive as the disaster left it.
      const shared = path.join(root, 'wal-shared');
      await run('cp', ['-a', archive, shared]);
      const { cluster: branch } = await restore('branch', { targetTime, from: shared, archiveTo: shared });
      await sql(branch.port, `insert into events values (0, 'branch', '')`);
      await branch.switchAndArchive();
      await branch.kill();

      const { cluster: latest } = await restore('replay-latest', {
        from: shared,
        archiveTo: path.join(root, 'wal-replay-latest'),
      });
      expect(await latest.phases()).toEqual({ base: ROWS, before: ROWS, branch: 1 });
      await latest.kill();

      const { cluster: current } = await restore('replay-current', {
        from: shared,
        timeline: 'current',
        archiveTo: path.join(root, 'wal-replay-current'),
      });
      expect(await current.phases()).toEqual({ base: ROWS, before: ROWS, after: AFTER_TARGET });
      await current.kill();
    },
    TIMEOUT,
  );
});

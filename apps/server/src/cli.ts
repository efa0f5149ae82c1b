import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config.ts';
import { startServer } from './server.ts';
import { AppError } from './shared/app-error.ts';

/** A terminal gets a prompt without echo; a pipe gives its first line. Never an argument: argv is visible to `ps`. */
async function readPassword(prompt: string): Promise<string> {
  const { stdin, stderr } = process;
  if (!stdin.isTTY) {
    let data = '';
    for await (const chunk of stdin) {
      data += String(chunk);
      if (data.includes('\n')) break;
    }
    return data.split(/\r?\n/)[0] ?? '';
  }
  stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let typed = '';
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          stderr.write('\n');
          resolve(typed);
          return;
        }
        if (ch === '\u0003') {
          stdin.setRawMode(false);
          reject(new Error('cancelled'));
          return;
        }
        typed = ch === '\u007f' ? typed.slice(0, -1) : typed + ch;
      }
    };
    stdin.on('data', onData);
  });
}

const USAGE = `Usage: parley <command>

Commands:
  start              run the roles in ROLES (default: all) in this process
  migrate            apply pending database migrations and exit
  admin create --email <e-mail> --org <organisation> [--name <name>]
                     create an admin (and the organisation if new); the password is read
                     from a prompt, or from the first line of stdin when it is not a terminal
  analyze <video> [--fps <n>] [--width <px>]
                     batch emotion analysis of a local video: progress on stderr, then a
                     summary (faces, blinks per minute, expression shares)
  jobs status        queue depths, consumers and dead letters of every queue
  jobs retry-dead [queue]
                     move dead-lettered messages back to their queue (every queue if none named)
  help               show this text

Configuration comes from the environment; see .env.example.`;

type Command = (args: string[]) => Promise<number>;

const commands: Record<string, Command> = {
  async start() {
    const config = loadConfig();
    const started = performance.now();
    const server = await startServer(config);
    const shown = config.server.publicUrl;
    server.container.logger.info(
      { url: server.url, roles: config.server.roles, bootMs: Math.round(performance.now() - started) },
      'parley started',
    );
    process.stdout.write(`\nParley is running: open ${shown}\n(roles: ${config.server.roles.join(', ')})\n\n`);
    await new Promise<void>((resolve) => {
      const shutdown = (signal: string) => {
        server.container.logger.info({ signal }, 'shutting down');
        server.stop().then(resolve, (error: unknown) => {
          server.container.logger.error({ err: error }, 'shutdown failed');
          resolve();
        });
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    });
    return 0;
  },

  async migrate() {
    const config = loadConfig({ ...process.env, ROLES: 'interview' });
    const { createDatabase } = await import('./infra/db/index.ts');
    const db = await createDatabase(config);
    try {
      await db.migrate();
      process.stdout.write('migrations applied\n');
    } finally {
      await db.close();
    }
    return 0;
  },

  async admin(args) {
    const { positionals, values } = parseArgs({
      args,
      allowPositionals: true,
      options: { email: { type: 'string' }, org: { type: 'string' }, name: { type: 'string' } },
    });
    if (positionals[0] !== 'create' || !values.email || !values.org) {
      process.stderr.write(`parley admin create --email <e-mail> --org <organisation> [--name <name>]\n`);
      return 2;
    }
    const password = await readPassword('Password for the new admin: ');
    const config = loadConfig({ ...process.env, ROLES: 'interview', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
    const { Container } = await import('./container.ts');
    const { createAccountsModule } = await import('./accounts/index.ts');
    const container = await Container.create(config);
    try {
      const accounts = await createAccountsModule({
        config,
        database: container.database,
        cache: container.cache,
        broker: container.broker,
        logger: container.logger,
      });
      const user = await accounts.service.createAdmin({
        orgName: values.org,
        email: values.email,
        name: values.name ?? values.email.split('@')[0] ?? values.email,
        password,
      });
      process.stdout.write(`admin ${user.email} created in organisation ${values.org} (${user.orgId})\n`);
      return 0;
    } catch (error) {
      if (error instanceof AppError) {
        process.stderr.write(`parley: ${error.code}: ${error.message}\n`);
        return 1;
      }
      throw error;
    } finally {
      await container.close();
    }
  },

  async analyze(args) {
    const { positionals, values } = parseArgs({
      args,
      allowPositionals: true,
      options: { fps: { type: 'string' }, width: { type: 'string' } },
    });
    const file = positionals[0];
    if (!file) {
      process.stderr.write('parley analyze <video> [--fps <n>] [--width <px>]\n');
      return 2;
    }
    const { analyzeVideoCommand } = await import('./workers/index.ts');
    try {
      await analyzeVideoCommand(file, {
        out: process.stdout,
        fps: values.fps ? Number(values.fps) : undefined,
        width: values.width ? Number(values.width) : undefined,
      });
      return 0;
    } catch (error) {
      if (error instanceof AppError) {
        process.stderr.write(`parley: ${error.code}: ${error.message}\n`);
        return 1;
      }
      throw error;
    }
  },

  async jobs(args) {
    const [sub, queue] = args;
    if (sub !== 'status' && sub !== 'retry-dead') {
      process.stderr.write('parley jobs status | parley jobs retry-dead [queue]\n');
      return 2;
    }
    const config = loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
    if (config.broker.kind !== 'amqp') {
      process.stderr.write(
        'parley jobs: the embedded bus lives inside the running server; set AMQP_URL to inspect RabbitMQ\n',
      );
      return 2;
    }
    const { createBroker } = await import('./infra/broker/index.ts');
    const { WORKER_TOPOLOGY, formatJobsStatus, jobsStatus, retryDead } = await import('./workers/index.ts');
    const broker = await createBroker(config, WORKER_TOPOLOGY);
    try {
      if (sub === 'status') {
        process.stdout.write(`${formatJobsStatus(await jobsStatus(broker))}\n`);
      } else {
        const moved = await retryDead(broker, queue);
        process.stdout.write(`${JSON.stringify(moved)}\n`);
      }
      return 0;
    } finally {
      await broker.close();
    }
  },

  async help() {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  },
};

async function main(argv: string[]): Promise<number> {
  const [name = 'help', ...rest] = argv;
  const command = commands[name];
  if (!command) {
    process.stderr.write(`parley: unknown command "${name}"\n\n${USAGE}\n`);
    return 2;
  }
  return command(rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`parley: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`parley: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);

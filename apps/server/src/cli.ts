import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config.ts';
import { startServer } from './server.ts';

const USAGE = `Usage: parley <command>

Commands:
  start              run the roles in ROLES (default: all) in this process
  migrate            apply pending database migrations and exit
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

  async help() {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  },
};

async function main(argv: string[]): Promise<number> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: false });
  const [name = 'help', ...rest] = positionals;
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

import { createAccountsModule } from '../accounts/index.ts';
import type { Container } from '../container.ts';
import { loadOrCreateKeyFile } from '../infra/storage/index.ts';
import { createTranscriber } from '../infra/transcriber/index.ts';
import { createInterviewsModule } from '../interviews/index.ts';
import { createScoringModule } from '../scoring/index.ts';

// One instance of each context module per process, built on first use, so roles running side by
// side share them.

export const accountsOf = (container: Container) =>
  container.module('accounts', () =>
    createAccountsModule({
      config: container.config,
      database: container.database,
      cache: container.cache,
      broker: container.broker,
      logger: container.logger,
    }),
  );

export const interviewsOf = (container: Container) =>
  container.module('interviews', async () =>
    createInterviewsModule({
      database: container.database,
      storage: container.storage,
      broker: container.broker,
      cache: container.cache,
      logger: container.logger,
      accounts: (await accountsOf(container)).service,
    }),
  );

export const scoringOf = (container: Container) =>
  container.module('scoring', async () =>
    createScoringModule({
      // Provider keys are stored encrypted under SECRETS_KEY; embedded installs keep a generated
      // one in DATA_DIR (every process of a split deployment must share the configured one).
      config: {
        ...container.config,
        llm: {
          ...container.config.llm,
          secretsKey:
            container.config.llm.secretsKey ??
            (await loadOrCreateKeyFile(container.config.server.dataDir, 'secrets.key')).toString('hex'),
        },
      },
      database: container.database,
      broker: container.broker,
      storage: container.storage,
      cache: container.cache,
      logger: container.logger,
      metrics: container.metrics,
      interviews: (await interviewsOf(container)).sessions,
      transcriber: await createTranscriber(container.config, {
        onUnavailable: (err) => container.logger.warn({ err }, 'speech-to-text unavailable; recordings need review'),
      }),
      audit: async (entry) => (await accountsOf(container)).service.audit(entry),
    }),
  );

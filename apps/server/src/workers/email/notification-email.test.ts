import { embeddedFixtures, memoryBroker } from '../testing/worker-fixtures.ts';
import { notificationEmailSuite } from './notification-email.suite.ts';

// The in-process broker, PGlite and encrypted local storage.
notificationEmailSuite('embedded', async () => {
  const f = await embeddedFixtures();
  const broker = memoryBroker();
  return {
    database: f.database,
    storage: f.storage,
    broker,
    publisher: broker,
    async close() {
      await broker.close();
      await f.close();
    },
  };
});

import { realWorkerFixtures } from '../testing/real-worker-fixtures.ts';
import { notificationEmailSuite } from './notification-email.suite.ts';

// RabbitMQ (a virtual host per test), PostgreSQL (a scratch database per test) and S3 (a bucket per
// test); the workers and the publisher hold separate connections, as separate processes would.
notificationEmailSuite('RabbitMQ, PostgreSQL, S3', async () => {
  const real = await realWorkerFixtures('email');
  try {
    return {
      database: real.database,
      storage: real.storage,
      broker: await real.connect('email-test-workers'),
      publisher: await real.connect('email-test-publisher'),
      close: () => real.close(),
    };
  } catch (err) {
    await real.close();
    throw err;
  }
});

import { apiFuzzSuite } from './api-fuzz.suite.ts';
import { authorizationMatrix } from './authorization.suite.ts';
import { realOneProcess, realSplit } from './shared/testing/real-layouts.ts';

// The same API suites on PostgreSQL, Redis, RabbitMQ and S3, in one process and split.
authorizationMatrix([
  ['real servers, one process', realOneProcess],
  ['real servers, split', realSplit],
]);
apiFuzzSuite('real servers', realOneProcess);

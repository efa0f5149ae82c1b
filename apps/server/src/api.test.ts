import { apiFuzzSuite } from './api-fuzz.suite.ts';
import { authorizationMatrix } from './authorization.suite.ts';
import { oneProcess, splitProcesses } from './shared/testing/layouts.ts';

// The API suites on embedded adapters, in one process and split behind a gateway.
authorizationMatrix([
  ['embedded, one process', oneProcess],
  ['embedded, split', splitProcesses],
]);
apiFuzzSuite('embedded', oneProcess);

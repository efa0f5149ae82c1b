import { oneProcess, splitProcesses } from '../shared/testing/layouts.ts';
import { accountsApiSuite, failoverSuite } from './accounts.api.suite.ts';

accountsApiSuite([
  ['embedded, one process', oneProcess],
  ['embedded, gateway → two interview instances', splitProcesses],
]);
failoverSuite('embedded', splitProcesses);

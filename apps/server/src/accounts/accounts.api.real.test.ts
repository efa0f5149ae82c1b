import { realOneProcess, realSplit } from '../shared/testing/real-layouts.ts';
import { accountsApiSuite, failoverSuite } from './accounts.api.suite.ts';

accountsApiSuite([
  ['real servers, one process', realOneProcess],
  ['real servers, gateway → two interview instances', realSplit],
]);
failoverSuite('real servers', realSplit);

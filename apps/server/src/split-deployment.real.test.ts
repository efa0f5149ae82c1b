import { interviewFlowSuite } from './interview-flow.suite.ts';
import type { Layout } from './shared/testing/layouts.ts';
import { startSplitDeployment, type SplitDeployment } from './shared/testing/split-deployment.ts';

let split: SplitDeployment | undefined;
const layout: Layout = async () => (split = await startSplitDeployment());

// nginx (TLS 1.3) → 2 gateways → interview, 2 realtime; 2 emotion, scoring, worker on RabbitMQ;
// PostgreSQL primary + replica, Redis, S3. Mid-interview one gateway, one realtime and one emotion
// process are killed with SIGKILL: the interview completes, every acknowledged frame is analysed
// once, the socket reconnects to the surviving realtime process through the surviving gateway.
interviewFlowSuite('split deployment behind nginx, with processes killed mid-interview', layout, {
  workerRunning: true,
  midway: async () => {
    await split!.kill('gateway');
    await split!.kill('realtime');
    await split!.kill('emotion');
  },
});

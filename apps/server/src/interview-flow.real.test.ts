import { interviewFlowSuite } from './interview-flow.suite.ts';
import { oneProcess } from './shared/testing/layouts.ts';
import { realOneProcess } from './shared/testing/real-layouts.ts';

// Needs ffmpeg and pocketsphinx (installed by scripts/test-all.sh), so both layouts run in the real tier.
interviewFlowSuite('embedded adapters', oneProcess);
interviewFlowSuite('PostgreSQL, Redis, RabbitMQ, S3', realOneProcess);

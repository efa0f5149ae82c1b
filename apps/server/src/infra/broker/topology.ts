import type { Topology } from './broker.ts';

/** The design's topology: one topic exchange, four work queues, each with a dead-letter queue. */
export const INTERVIEW_EVENTS_TOPOLOGY: Topology = {
  exchange: 'interview.events',
  queues: [
    {
      name: 'emotion.analysis',
      bindings: ['interview.frame.captured'],
      maxAttempts: 3,
      backoffMs: 500,
      maxBackoffMs: 5_000,
    },
    {
      name: 'scoring.process',
      bindings: ['interview.completed'],
      maxAttempts: 5,
      backoffMs: 2_000,
      maxBackoffMs: 60_000,
    },
    {
      name: 'notification.email',
      bindings: ['interview.scored', 'notification.email.requested'],
      maxAttempts: 6,
      backoffMs: 5_000,
      maxBackoffMs: 300_000,
    },
    {
      name: 'video.processing',
      bindings: ['interview.video.uploaded'],
      maxAttempts: 3,
      backoffMs: 5_000,
      maxBackoffMs: 60_000,
    },
  ],
};

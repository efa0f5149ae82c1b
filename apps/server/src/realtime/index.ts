/**
 * The realtime context: `GET /ws`, where a candidate streams JPEG frames of their session (rate
 * and size limited, stored, announced as `interview.frame.captured`, then acknowledged) and where
 * staff of the session's organisation and the candidate follow the session live (state changes
 * and emotion results, fanned out to every realtime instance through the cache's pub/sub).
 * The message schemas live in `@parley/contracts` (`realtime.ts`). This file is its only door.
 */
export {
  createRealtimeModule,
  CONNECTION_REGISTRY_KEY,
  DEFAULT_REALTIME_OPTIONS,
  type RealtimeDeps,
  type RealtimeModule,
  type RealtimeOptions,
} from './realtime.module.ts';
export type { Authenticate } from './connection.ts';
export {
  DrizzleSessionDirectory,
  type SessionDirectory,
  type SessionInfo,
  type SessionState,
} from './session-directory.ts';

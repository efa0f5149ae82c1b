import type { SessionStatus } from '../infra/db/schema.ts';
import { AppError } from '../shared/app-error.ts';

/**
 * The session lifecycle. `expired` and `abandoned` can end a session that has not completed;
 * `scoring → completed` lets a failed scoring run be retried. Terminal states have no way out.
 */
export const SESSION_TRANSITIONS: Readonly<Record<SessionStatus, readonly SessionStatus[]>> = {
  invited: ['consented', 'expired', 'abandoned'],
  consented: ['in_progress', 'expired', 'abandoned'],
  in_progress: ['completed', 'expired', 'abandoned'],
  completed: ['scoring'],
  scoring: ['scored', 'completed'],
  scored: [],
  expired: [],
  abandoned: [],
};

export const SESSION_STATUSES = Object.keys(SESSION_TRANSITIONS) as SessionStatus[];

export function canTransition(from: SessionStatus, to: SessionStatus): boolean {
  return SESSION_TRANSITIONS[from].includes(to);
}

/** The states a session may be in to move to `to`. */
export function sourcesOf(to: SessionStatus): SessionStatus[] {
  return SESSION_STATUSES.filter((from) => canTransition(from, to));
}

export function illegalTransition(from: SessionStatus, to: SessionStatus): AppError {
  return new AppError('ILLEGAL_TRANSITION', `A session that is ${from} cannot become ${to}`, { from, to });
}

export function assertTransition(from: SessionStatus, to: SessionStatus): void {
  if (!canTransition(from, to)) throw illegalTransition(from, to);
}

/** States in which the candidate can still act on the session. */
export const OPEN_STATES: readonly SessionStatus[] = ['invited', 'consented', 'in_progress'];

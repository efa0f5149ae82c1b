import { AppError } from './app-error.ts';

/** Who is calling. Every service method takes one and decides what it may see. */
export type Actor =
  | { kind: 'anonymous'; ip?: string }
  | { kind: 'staff'; userId: string; orgId: string; role: 'admin' | 'recruiter'; ip?: string }
  | { kind: 'candidate'; userId: string; orgId: string; sessionId: string; ip?: string };

export type StaffActor = Extract<Actor, { kind: 'staff' }>;
export type CandidateActor = Extract<Actor, { kind: 'candidate' }>;

export const ANONYMOUS: Actor = { kind: 'anonymous' };

export function requireAuthenticated(actor: Actor): asserts actor is StaffActor | CandidateActor {
  if (actor.kind === 'anonymous') throw new AppError('UNAUTHENTICATED', 'Sign in first');
}

/** Recruiters and admins of an organisation. */
export function requireStaff(actor: Actor): asserts actor is StaffActor {
  requireAuthenticated(actor);
  if (actor.kind !== 'staff') throw new AppError('FORBIDDEN', 'Only recruiters and admins may do this');
}

export function requireAdmin(actor: Actor): asserts actor is StaffActor {
  requireStaff(actor);
  if (actor.role !== 'admin') throw new AppError('FORBIDDEN', 'Only admins may do this');
}

/**
 * A session is reachable by its own candidate and by staff of its organisation. Anything else is
 * answered as "not found", so ids guessed across tenants reveal nothing.
 */
export function requireSessionAccess(actor: Actor, session: { id: string; orgId: string }): void {
  requireAuthenticated(actor);
  if (actor.kind === 'candidate' && actor.sessionId === session.id && actor.orgId === session.orgId) return;
  if (actor.kind === 'staff' && actor.orgId === session.orgId) return;
  throw new AppError('NOT_FOUND', 'Session not found');
}

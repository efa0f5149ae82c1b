/** SQLSTATE codes repositories map to `AppError`s. */
export const SQLSTATE = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  checkViolation: '23514',
  /** Raised by the trigger that keeps question versions immutable. */
  restrictViolation: '23001',
  notNullViolation: '23502',
  /** Also raised for a value that is not a member of an enum. */
  invalidTextRepresentation: '22P02',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
} as const;

/** What the server said about a failed statement, the same on PGlite and PostgreSQL. */
export interface DatabaseErrorInfo {
  /** SQLSTATE, e.g. `23505`. */
  code: string;
  /** Name of the violated constraint or index, when there is one. */
  constraint?: string;
  message: string;
}

/**
 * Finds the server's error inside whatever wrapped it (drizzle wraps driver errors in a
 * `DrizzleQueryError` whose `cause` is the `pg`/PGlite error). Undefined for non-database errors.
 */
export function databaseError(err: unknown): DatabaseErrorInfo | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 8 && current && typeof current === 'object'; depth++) {
    const e = current as { code?: unknown; constraint?: unknown; message?: unknown; cause?: unknown };
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) {
      return {
        code: e.code,
        constraint: typeof e.constraint === 'string' ? e.constraint : undefined,
        message: typeof e.message === 'string' ? e.message : e.code,
      };
    }
    current = e.cause;
  }
  return undefined;
}

/** True when `err` is a unique violation (of `constraint`, if given). */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const info = databaseError(err);
  return info?.code === SQLSTATE.uniqueViolation && (constraint === undefined || info.constraint === constraint);
}

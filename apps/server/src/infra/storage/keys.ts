import { AppError } from '../../shared/app-error.ts';

/** Longest key accepted, in characters (all ASCII). Leaves room under S3's 1024-byte limit. */
export const MAX_KEY_LENGTH = 512;

const SEGMENT = /^[A-Za-z0-9._-]+$/;

/**
 * A key is a relative path of `/`-separated segments made of `[A-Za-z0-9._-]`, none of them
 * empty, `.` or `..`. Keys come from ids the server builds, but they end up as file paths (local
 * storage) and object names (S3), so anything that could escape the root is refused here.
 */
export function assertValidKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw invalid(key, 'is empty');
  if (key.length > MAX_KEY_LENGTH) throw invalid(key, `is longer than ${MAX_KEY_LENGTH} characters`);
  for (const segment of key.split('/')) checkSegment(key, segment);
}

/**
 * A listing prefix: empty (everything), or a valid key optionally ending with `/`, or a partial
 * last segment (`sessions/ab` matches `sessions/abc/…`), as with S3.
 */
export function assertValidPrefix(prefix: string): void {
  if (typeof prefix !== 'string') throw invalid(prefix, 'is not a string');
  if (prefix === '') return;
  if (prefix.length > MAX_KEY_LENGTH) throw invalid(prefix, `is longer than ${MAX_KEY_LENGTH} characters`);
  const segments = prefix.split('/');
  const last = segments.pop() ?? '';
  for (const segment of segments) checkSegment(prefix, segment);
  // The partial last segment may be empty (prefix ends with '/') or a dot, as in "a/." — a
  // prefix of "a/.hidden"; it is only compared as a string, never used as a path.
  if (last !== '' && !SEGMENT.test(last)) throw invalid(prefix, `has an invalid segment "${last}"`);
}

function checkSegment(key: string, segment: string): void {
  if (segment === '') throw invalid(key, 'has an empty segment (leading, trailing or double "/")');
  if (segment === '.' || segment === '..') throw invalid(key, `has a "${segment}" segment`);
  if (!SEGMENT.test(segment)) throw invalid(key, `has an invalid segment (allowed: A-Z a-z 0-9 . _ -)`);
}

function invalid(key: unknown, why: string): AppError {
  const shown = typeof key === 'string' ? JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}…` : key) : typeof key;
  return new AppError('INVALID_STORAGE_KEY', `Storage key ${shown} ${why}`);
}

import { Readable } from 'node:stream';
import { AppError } from '../../shared/app-error.ts';
import type { ByteSpan, RangePicker } from './storage.ts';

/** What `pick` chose for an object of `size` bytes, checked to lie inside it. */
export function pickSpan(pick: RangePicker, size: number): ByteSpan | undefined {
  const span = pick(size);
  if (span === undefined) return undefined;
  const { start, end } = span;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || start > end || end >= size) {
    throw new AppError('VALIDATION_FAILED', `Bytes ${start}-${end} are not inside an object of ${size} bytes`);
  }
  return { start, end };
}

/**
 * A stream over `read()`'s chunks, started only when the stream is first read; destroying it
 * stops `read` (its `finally` blocks run), so fetches in flight are closed.
 */
export function lazyBody(read: (() => AsyncIterable<Uint8Array>) | undefined): Readable {
  if (!read) return Readable.from([]);
  return Readable.from(
    (async function* () {
      yield* read();
    })(),
    { objectMode: false },
  );
}

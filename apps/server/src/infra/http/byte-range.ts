/** What to send for a `Range` request header against a representation of `size` bytes. */
export type ByteRange =
  /** No usable range: send the whole representation (200). */
  | { kind: 'whole' }
  /** Send bytes `start`…`end`, both inclusive (206 with `Content-Range: bytes start-end/size`). */
  | { kind: 'partial'; start: number; end: number }
  /** A bytes range that cannot be served (416 with `Content-Range: bytes *\/size`). */
  | { kind: 'unsatisfiable' };

const SPEC = /^(\d*)-(\d*)$/;

/**
 * Reads a `Range` header (RFC 9110 §14). One `bytes` range is served: `a-b`, `a-` and the suffix
 * `-n`. A header in another unit, or asking for several ranges at once, is ignored (the whole
 * representation is sent, as the RFC allows); a malformed bytes range, or one that starts past the
 * end, is unsatisfiable. An end past the last byte is cut to it.
 */
export function parseByteRange(header: string | undefined, size: number): ByteRange {
  if (header === undefined) return { kind: 'whole' };
  const match = /^\s*([A-Za-z]+)\s*=\s*(.*)$/.exec(header);
  if (!match || match[1]!.toLowerCase() !== 'bytes') return { kind: 'whole' };
  const specs = match[2]!.split(',').map((s) => s.trim());
  if (specs.length > 1) return { kind: 'whole' };
  const spec = SPEC.exec(specs[0]!);
  if (!spec) return { kind: 'unsatisfiable' };
  const [, first, last] = spec as unknown as [string, string, string];
  if (first === '' && last === '') return { kind: 'unsatisfiable' };
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (!Number.isSafeInteger(start) || start >= size || (last !== '' && Number(last) < start)) {
    return { kind: 'unsatisfiable' };
  }
  return { kind: 'partial', start, end };
}

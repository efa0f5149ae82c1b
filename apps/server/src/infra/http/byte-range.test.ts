import { describe, expect, it } from 'vitest';
import { parseByteRange } from './byte-range.ts';

describe('Range header', () => {
  it('serves the whole representation without a header, for another unit, or for several ranges', () => {
    expect(parseByteRange(undefined, 100)).toEqual({ kind: 'whole' });
    expect(parseByteRange('items=0-5', 100)).toEqual({ kind: 'whole' });
    expect(parseByteRange('bytes=0-1, 5-9', 100)).toEqual({ kind: 'whole' });
    expect(parseByteRange('nonsense', 100)).toEqual({ kind: 'whole' });
  });

  it('serves a closed range, an open range and a suffix, cutting an end past the last byte', () => {
    expect(parseByteRange('bytes=0-9', 100)).toEqual({ kind: 'partial', start: 0, end: 9 });
    expect(parseByteRange('bytes=90-', 100)).toEqual({ kind: 'partial', start: 90, end: 99 });
    expect(parseByteRange('bytes=-10', 100)).toEqual({ kind: 'partial', start: 90, end: 99 });
    expect(parseByteRange('bytes=-500', 100)).toEqual({ kind: 'partial', start: 0, end: 99 });
    expect(parseByteRange('bytes=50-5000', 100)).toEqual({ kind: 'partial', start: 50, end: 99 });
    expect(parseByteRange('Bytes = 0-0', 100)).toEqual({ kind: 'partial', start: 0, end: 0 });
  });

  it('refuses a range past the end, a reversed one, an empty one and garbage after bytes=', () => {
    for (const header of [
      'bytes=100-',
      'bytes=100-200',
      'bytes=9-3',
      'bytes=-',
      'bytes=-0',
      'bytes=a-b',
      'bytes=1-2-3',
    ]) {
      expect([header, parseByteRange(header, 100)]).toEqual([header, { kind: 'unsatisfiable' }]);
    }
    expect(parseByteRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
  });
});

import { describe, expect, it } from 'vitest';
import { chunk, parseCandidatesCsv, parseCsv } from './candidates-csv.ts';

describe('CSV parsing', () => {
  it('handles quoted fields with commas, doubled quotes and line breaks, CRLF and a BOM', () => {
    const text =
      '\uFEFFname,email\r\n"Lovelace, Ada",ada@example.com\r\n"The ""Count""",count@example.com\n"Multi\nLine",m@example.com';
    expect(parseCsv(text)).toEqual([
      ['name', 'email'],
      ['Lovelace, Ada', 'ada@example.com'],
      ['The "Count"', 'count@example.com'],
      ['Multi\nLine', 'm@example.com'],
    ]);
  });

  it('skips blank lines and accepts semicolons (spreadsheet exports in many locales)', () => {
    expect(parseCsv('a;b\n\n  \nc;d\n')).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
  });
});

describe('candidates from CSV', () => {
  it('reads a header in any order and case', () => {
    const { candidates, problems } = parseCandidatesCsv('E-mail,Full Name\nada@example.com,Ada Lovelace\n');
    expect(problems).toEqual([]);
    expect(candidates).toEqual([{ name: 'Ada Lovelace', email: 'ada@example.com' }]);
  });

  it('reads name then e-mail when there is no header', () => {
    const { candidates } = parseCandidatesCsv('Ada,ada@example.com\nGrace,grace@example.com');
    expect(candidates.map((c) => c.name)).toEqual(['Ada', 'Grace']);
  });

  it('reports bad and duplicate rows by line instead of inviting them', () => {
    const { candidates, problems } = parseCandidatesCsv(
      'name,email\nAda,ada@example.com\nBob,not-an-email\nAda again,ADA@example.com\nNobody,\n',
    );
    expect(candidates).toHaveLength(1);
    expect(problems).toEqual([
      { line: 3, message: '"not-an-email" is not an e-mail address' },
      { line: 4, message: 'ADA@example.com already appears on line 2' },
      { line: 5, message: 'No e-mail address' },
    ]);
  });

  it('uses the address as the name when a row has none', () => {
    expect(parseCandidatesCsv('email\nlin@example.com').candidates).toEqual([
      { name: 'lin', email: 'lin@example.com' },
    ]);
  });

  it('says an empty file is empty', () => {
    expect(parseCandidatesCsv('').problems).toEqual([{ line: 1, message: 'The file is empty' }]);
  });

  it('batches invitations', () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
  });
});

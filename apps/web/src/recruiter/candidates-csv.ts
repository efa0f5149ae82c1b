/** Splits CSV text into rows of fields (RFC 4180: quoted fields, doubled quotes, CRLF or LF). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const src = text.replace(/^\uFEFF/, '');
  while (i < src.length) {
    const ch = src[i]!;
    if (quoted) {
      if (ch === '"') {
        if (src[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        field += ch;
      }
      i++;
      continue;
    }
    if (ch === '"' && field.trim() === '') {
      quoted = true;
      field = '';
    } else if (ch === ',' || ch === ';' || ch === '\t') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      if (ch === '\r' && src[i + 1] === '\n') i++;
    } else {
      field += ch;
    }
    i++;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.map((r) => r.map((f) => f.trim())).filter((r) => r.some((f) => f !== ''));
}

export interface CandidateRow {
  name: string;
  email: string;
}
export interface CsvProblem {
  /** 1-based line of the file. */
  line: number;
  message: string;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * Candidates from a CSV file: a header naming `name` and `email` columns (any order, any case),
 * or no header and two columns, name then e-mail. Rows with problems are reported, not guessed.
 */
export function parseCandidatesCsv(text: string): { candidates: CandidateRow[]; problems: CsvProblem[] } {
  const rows = parseCsv(text);
  const problems: CsvProblem[] = [];
  const candidates: CandidateRow[] = [];
  if (rows.length === 0) return { candidates, problems: [{ line: 1, message: 'The file is empty' }] };

  const header = rows[0]!.map((h) => h.toLowerCase().replace(/[^a-z]/g, ''));
  let nameCol = header.findIndex((h) => h === 'name' || h === 'fullname' || h === 'candidate' || h === 'candidatename');
  let emailCol = header.findIndex((h) => h === 'email' || h === 'emailaddress' || h === 'mail');
  const hasHeader = emailCol !== -1;
  if (!hasHeader) {
    nameCol = 0;
    emailCol = 1;
  }
  const seen = new Map<string, number>();
  rows.forEach((row, index) => {
    if (hasHeader && index === 0) return;
    const line = index + 1;
    const email = (row[emailCol] ?? '').trim();
    const name = (nameCol === -1 ? '' : (row[nameCol] ?? '')).trim() || email.split('@')[0] || '';
    if (!email) {
      problems.push({ line, message: 'No e-mail address' });
      return;
    }
    if (!EMAIL.test(email) || email.length > 254) {
      problems.push({ line, message: `"${email}" is not an e-mail address` });
      return;
    }
    if (name.length > 200) {
      problems.push({ line, message: 'The name is longer than 200 characters' });
      return;
    }
    const key = email.toLowerCase();
    const first = seen.get(key);
    if (first !== undefined) {
      problems.push({ line, message: `${email} already appears on line ${first}` });
      return;
    }
    seen.set(key, line);
    candidates.push({ name, email });
  });
  return { candidates, problems };
}

/** Splits a list into batches of at most `size` (the invite endpoint takes 100 at a time). */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The Porter (1980) stemming algorithm, so "synchronization", "synchronizes" and "synchronized"
 * meet at one stem. Written from the published algorithm; input is one lower-case word.
 */
const STEP2: Record<string, string> = {
  ational: 'ate',
  tional: 'tion',
  enci: 'ence',
  anci: 'ance',
  izer: 'ize',
  bli: 'ble',
  alli: 'al',
  entli: 'ent',
  eli: 'e',
  ousli: 'ous',
  ization: 'ize',
  ation: 'ate',
  ator: 'ate',
  alism: 'al',
  iveness: 'ive',
  fulness: 'ful',
  ousness: 'ous',
  aliti: 'al',
  iviti: 'ive',
  biliti: 'ble',
  logi: 'log',
};
const STEP3: Record<string, string> = {
  icate: 'ic',
  ative: '',
  alize: 'al',
  iciti: 'ic',
  ical: 'ic',
  ful: '',
  ness: '',
};
const STEP4 = [
  'al',
  'ance',
  'ence',
  'er',
  'ic',
  'able',
  'ible',
  'ant',
  'ement',
  'ment',
  'ent',
  'ion',
  'ou',
  'ism',
  'ate',
  'iti',
  'ous',
  'ive',
  'ize',
];

const C = '[^aeiou]';
const V = '[aeiouy]';
const CS = `${C}[^aeiouy]*`;
const VS = `${V}[aeiou]*`;
const MGR0 = new RegExp(`^(${CS})?${VS}${CS}`); // m > 0
const MEQ1 = new RegExp(`^(${CS})?${VS}${CS}(${VS})?$`); // m = 1
const MGR1 = new RegExp(`^(${CS})?${VS}${CS}${VS}${CS}`); // m > 1
const HAS_VOWEL = new RegExp(`^(${CS})?${V}`);
const CVC = new RegExp(`^${CS}${V}[^aeiouwxy]$`);

export function porterStem(input: string): string {
  let w = input;
  if (w.length < 3) return w;
  const firstY = w.startsWith('y');
  if (firstY) w = `Y${w.slice(1)}`;

  // Step 1a
  if (/sses$|ies$/.test(w)) w = w.slice(0, -2);
  else if (/[^s]s$/.test(w)) w = w.slice(0, -1);

  // Step 1b
  let m: RegExpExecArray | null;
  if ((m = /^(.+?)eed$/.exec(w))) {
    if (MGR0.test(m[1]!)) w = w.slice(0, -1);
  } else if ((m = /^(.+?)(ed|ing)$/.exec(w)) && HAS_VOWEL.test(m[1]!)) {
    w = m[1]!;
    if (/(at|bl|iz)$/.test(w)) w += 'e';
    else if (/([^aeiouylsz])\1$/.test(w)) w = w.slice(0, -1);
    else if (new RegExp(`^${CS}${V}[^aeiouwxy]$`).test(w)) w += 'e';
  }

  // Step 1c
  if ((m = /^(.+?)y$/.exec(w)) && HAS_VOWEL.test(m[1]!)) w = `${m[1]!}i`;

  // Step 2
  if (
    (m =
      /^(.+?)(ational|tional|enci|anci|izer|bli|alli|entli|eli|ousli|ization|ation|ator|alism|iveness|fulness|ousness|aliti|iviti|biliti|logi)$/.exec(
        w,
      ))
  ) {
    if (MGR0.test(m[1]!)) w = m[1]! + STEP2[m[2]!]!;
  }

  // Step 3
  if ((m = /^(.+?)(icate|ative|alize|iciti|ical|ful|ness)$/.exec(w))) {
    if (MGR0.test(m[1]!)) w = m[1]! + STEP3[m[2]!]!;
  }

  // Step 4
  if ((m = new RegExp(`^(.+?)(${STEP4.join('|')})$`).exec(w))) {
    if (MGR1.test(m[1]!)) w = m[1]!;
  } else if ((m = /^(.+?)(s|t)(ion)$/.exec(w))) {
    if (MGR1.test(m[1]! + m[2]!)) w = m[1]! + m[2]!;
  }

  // Step 5
  if ((m = /^(.+?)e$/.exec(w))) {
    const stem = m[1]!;
    if (MGR1.test(stem) || (MEQ1.test(stem) && !CVC.test(stem))) w = stem;
  }
  if (/ll$/.test(w) && MGR1.test(w)) w = w.slice(0, -1);

  return firstY ? `y${w.slice(1)}` : w;
}

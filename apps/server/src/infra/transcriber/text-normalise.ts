/**
 * Word normalisation shared by the WER measure, keyword matching and filler counting, so that
 * all three agree on what "the same word" is.
 */

/**
 * Lower-cases and splits into words: hyphens, slashes and other punctuation separate words,
 * apostrophes inside a word are kept (`don't`, `i'm`), digits are kept as written. Contractions
 * are not expanded: `i'm` and `i am` count as different words, as in standard WER scoring.
 */
export function normaliseWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[\u2018\u2019\u02bc]/g, "'")
    .replace(/[^\p{L}\p{N}']+/gu, ' ')
    .split(' ')
    .map((w) => w.replace(/^'+|'+$/g, ''))
    .filter(Boolean);
}

/** One word through `normaliseWords`, joined back if the engine glued punctuation to it. */
export function normaliseWord(word: string): string {
  return normaliseWords(word).join(' ');
}

const IRREGULAR: Record<string, string> = {
  children: 'child',
  people: 'person',
  men: 'man',
  women: 'woman',
  data: 'datum',
  indices: 'index',
  indexes: 'index',
  led: 'lead',
  ran: 'run',
  running: 'run',
  wrote: 'write',
  written: 'write',
  writing: 'write',
};

/**
 * A light English stem for word-form matching of keywords: plural and possessive `-s`, `-es`,
 * `-ies`, and verb `-ing`/`-ed`, so `race condition` matches `race conditions` and `lock` matches
 * `locked`/`locking`. Deliberately conservative (no suffix stripping below four letters) to keep
 * `is`, `was`, `bus` apart from `i`, `wa`, `bu`.
 */
export function stem(word: string): string {
  let w = word.toLowerCase().replace(/'s$|s'$/, '');
  const irregular = IRREGULAR[w];
  if (irregular) return irregular;
  if (w.length <= 3) return w;
  if (w.endsWith('ies') && w.length > 4) w = `${w.slice(0, -3)}y`;
  else if (/(sses|shes|ches|xes|zes)$/.test(w)) w = w.slice(0, -2);
  else if (w.endsWith('s') && !/(ss|us|is)$/.test(w)) w = w.slice(0, -1);
  if (w.endsWith('ing') && w.length > 5) w = undouble(w.slice(0, -3));
  else if (w.endsWith('ied') && w.length > 4) w = `${w.slice(0, -3)}y`;
  else if (w.endsWith('ed') && w.length > 4) w = undouble(w.slice(0, -2));
  // `create`/`created`/`creating` meet at `creat`; `lock`/`locked` at `lock`.
  if (w.endsWith('e') && w.length > 4) w = w.slice(0, -1);
  return w;
}

function undouble(w: string): string {
  return /([bdgmnprt])\1$/.test(w) ? w.slice(0, -1) : w;
}

import { normaliseWords, stem } from './text-normalise.ts';
import type { KeywordHit, TranscriptWord } from './transcriber.ts';

/**
 * The comparison key of a phrase: its words joined without spaces, then stemmed. Joining lets
 * `hash map`, `hashmap` and `hash maps` meet, and `trade-off` meet `tradeoffs`; stemming the
 * joined form strips the inflection English puts on the head at the end (`race conditions`), and
 * gives `database` and `data base` one key (stemming `base` alone, under the stemmer's length
 * floor, would not).
 */
function phraseKey(tokens: readonly string[]): string {
  return tokens.length === 0 ? '' : stem(tokens.join(''));
}

/**
 * Finds every occurrence of each keyword in a word list, by word form: case, punctuation,
 * inflection (`-s`, `-es`, `-ing`, `-ed`) and compound spelling are ignored. A hit's confidence is
 * that of its least confident word: a phrase is only as sure as its weakest word. Hits come in
 * time order; one keyword never matches overlapping words twice.
 */
export function matchKeywords(keywords: readonly string[], words: readonly TranscriptWord[]): KeywordHit[] {
  // Engines may return one "word" holding several tokens (`hash-map`): match on tokens, report words.
  const tokens: { token: string; word: TranscriptWord }[] = words.flatMap((word) =>
    normaliseWords(word.word).map((token) => ({ token, word })),
  );
  const hits: KeywordHit[] = [];
  for (const keyword of uniqueKeywords(keywords)) {
    const kwTokens = normaliseWords(keyword);
    const key = phraseKey(kwTokens);
    if (!key) continue;
    // A transcript may split a compound the keyword writes as one word (`data base`): one extra token.
    const maxSpan = kwTokens.length + 1;
    for (let i = 0; i < tokens.length; i++) {
      for (let len = 1; len <= maxSpan && i + len <= tokens.length; len++) {
        const span = tokens.slice(i, i + len);
        if (phraseKey(span.map((t) => t.token)) !== key) continue;
        hits.push({
          keyword,
          startMs: span[0]!.word.startMs,
          confidence: Math.min(...span.map((t) => t.word.confidence)),
        });
        i += len - 1;
        break;
      }
    }
  }
  return hits.sort((a, b) => a.startMs - b.startMs || a.keyword.localeCompare(b.keyword));
}

/** Keywords without blanks and case-insensitive duplicates, first spelling kept. */
export function uniqueKeywords(keywords: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const k of keywords) {
    const norm = normaliseWords(k).join(' ');
    if (!norm || seen.has(norm)) continue;
    seen.add(norm);
    out.push(k.trim());
  }
  return out;
}

import { porterStem } from './porter-stemmer.ts';

// Function words that carry no topic; kept short on purpose (negations stay meaningful).
const STOPWORDS = new Set(
  `a an the and or but if then else of to in on at by for with from as into onto over under about
  is are was were be been being am do does did have has had having i me my we our us you your he she it its
  they them their this that these those there here what which who whom whose when where why how
  can could would should will shall may might must just also very really quite so than too
  some any each every all both either neither own same other such only one ones
  up down out off again further once s t d ll m re ve`
    .split(/\s+/)
    .filter(Boolean),
);

/** Lower-case words (letters, digits, inner apostrophes and hyphens). */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu) ?? [];
}

/** Stems of the words that carry content, hyphenated words split into their parts. */
export function contentStems(text: string): string[] {
  return words(text)
    .flatMap((w) => w.replace(/['’]s$/, '').split(/['’-]/))
    .filter((w) => w.length > 1 && !STOPWORDS.has(w))
    .map(porterStem);
}

/**
 * Sentences as they appear in the text (so they can be quoted). Speech-to-text output often has
 * no punctuation: a run longer than `maxWords` is cut at word boundaries.
 */
export function sentences(text: string, maxWords = 30): string[] {
  const parts = text
    .split(/(?<=[.!?;])\s+|\n+/)
    .map((s) => s.trim())
    .filter((s) => /[\p{L}\p{N}]/u.test(s));
  return parts.flatMap((s) => {
    const tokens = s.split(/\s+/);
    if (tokens.length <= maxWords) return [s];
    const chunks: string[] = [];
    for (let i = 0; i < tokens.length; i += maxWords) chunks.push(tokens.slice(i, i + maxWords).join(' '));
    return chunks;
  });
}

export const clamp01 = (x: number): number => Math.min(1, Math.max(0, x));

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** Lower case, curly quotes straightened, punctuation at word edges dropped, spaces collapsed. */
export function normalizeForQuote(text: string): string {
  return text
    .toLowerCase()
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/[\u201c\u201d]/g, '"')
    .replace(/[^\p{L}\p{N}'\s-]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * True when `quote` appears in `transcript`, ignoring case, punctuation and spacing, which a
 * model may change when it copies a spoken transcript. Ellipses split a quote into parts that
 * must all appear, in order.
 */
export function isVerbatimQuote(quote: string, transcript: string): boolean {
  const haystack = ` ${normalizeForQuote(transcript)} `;
  const parts = quote
    .split(/\.\.\.|\u2026/)
    .map(normalizeForQuote)
    .filter(Boolean);
  if (parts.length === 0) return false;
  let from = 0;
  for (const part of parts) {
    const at = haystack.indexOf(` ${part} `, from);
    if (at < 0) return false;
    from = at + part.length;
  }
  return true;
}

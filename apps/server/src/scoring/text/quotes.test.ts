import { describe, expect, it } from 'vitest';
import { isVerbatimQuote } from './quotes.ts';

const transcript = 'A process has its own memory. Threads, however, share it — so they need locks.';

describe('isVerbatimQuote', () => {
  it('accepts a quote that differs only in case, punctuation and spacing', () => {
    expect(isVerbatimQuote('threads however share it', transcript)).toBe(true);
    expect(isVerbatimQuote('"A process has its own memory."', transcript)).toBe(true);
  });
  it('accepts parts joined by an ellipsis when they appear in order', () => {
    expect(isVerbatimQuote('A process has … need locks', transcript)).toBe(true);
    expect(isVerbatimQuote('need locks ... a process', transcript)).toBe(false);
  });
  it('rejects paraphrases, partial words and empty quotes', () => {
    expect(isVerbatimQuote('threads share memory', transcript)).toBe(false);
    expect(isVerbatimQuote('proc', transcript)).toBe(false);
    expect(isVerbatimQuote('…', transcript)).toBe(false);
  });
});

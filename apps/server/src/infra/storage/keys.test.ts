import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertValidKey, assertValidPrefix, MAX_KEY_LENGTH } from './keys.ts';

/** The error `fn` throws (fails the test when it throws nothing). */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

const segment = fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/).filter((s) => s !== '.' && s !== '..');
const validKey = fc.array(segment, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('/'));

describe('storage keys', () => {
  it('accepts relative keys of letters, digits, dot, dash and underscore', () => {
    for (const key of ['a', 'org-1/session_2/answer.v1.webm', '.hidden/..x/x..', 'a'.repeat(MAX_KEY_LENGTH)]) {
      expect(() => assertValidKey(key)).not.toThrow();
    }
  });

  it.each([
    ['parent segment', '../x'],
    ['nested parent segment', 'a/../../x'],
    ['absolute path', '/etc/passwd'],
    ['empty segment', 'a//b'],
    ['trailing slash', 'a/'],
    ['backslash', 'a\\b'],
    ['dot segment', 'a/./b'],
    ['NUL', 'a\0b'],
    ['space', 'a b'],
    ['non-ASCII', 'é'],
    ['empty key', ''],
    ['too long', 'a'.repeat(MAX_KEY_LENGTH + 1)],
  ])('refuses a key with a %s', (_, key) => {
    expect(thrownBy(() => assertValidKey(key))).toMatchObject({ code: 'INVALID_STORAGE_KEY' });
  });

  it('never lets an accepted key resolve outside the root (property)', () => {
    const root = '/srv/parley/objects';
    fc.assert(
      fc.property(fc.oneof(validKey, fc.string(), fc.stringMatching(/^[./\\a]{0,12}$/)), (key) => {
        let ok = true;
        try {
          assertValidKey(key);
        } catch {
          ok = false;
        }
        if (ok) expect(path.resolve(root, key).startsWith(`${root}/`)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts every generated valid key (property)', () => {
    fc.assert(fc.property(validKey, (key) => assertValidKey(key)));
  });

  it('accepts prefixes that end in a partial segment or a slash, and refuses escaping ones', () => {
    for (const p of ['', 'a', 'a/', 'a/b', 'a/.', 'a/.h']) expect(() => assertValidPrefix(p)).not.toThrow();
    for (const p of ['/', '../', '/a', 'a//', 'a\\', 'a/../b']) {
      expect(thrownBy(() => assertValidPrefix(p))).toMatchObject({ code: 'INVALID_STORAGE_KEY' });
    }
  });
});

import { ZTokenPair, type TTokenPair } from '@parley/contracts';

/** Where one kind of sign-in (staff, or a candidate's session) keeps its tokens. */
export interface TokenStore {
  get(): TTokenPair | null;
  set(tokens: TTokenPair | null): void;
}

/** Keeps nothing across reloads; for tests. */
export class MemoryTokenStore implements TokenStore {
  constructor(private tokens: TTokenPair | null = null) {}
  get(): TTokenPair | null {
    return this.tokens;
  }
  set(tokens: TTokenPair | null): void {
    this.tokens = tokens;
  }
}

/** Minimal slice of the Web Storage API, so a fake works in tests. */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * Tokens in Web Storage under one key. Read on every `get`, so another tab's refresh (which
 * rotated the refresh token) is seen before this tab tries the old one.
 */
export class WebStorageTokenStore implements TokenStore {
  constructor(
    private readonly storage: KeyValueStorage,
    private readonly key: string,
  ) {}

  get(): TTokenPair | null {
    const raw = this.storage.getItem(this.key);
    if (!raw) return null;
    try {
      const parsed = ZTokenPair.safeParse(JSON.parse(raw));
      return parsed.success ? parsed.data : null;
    } catch {
      return null;
    }
  }

  set(tokens: TTokenPair | null): void {
    if (tokens) this.storage.setItem(this.key, JSON.stringify(tokens));
    else this.storage.removeItem(this.key);
  }
}

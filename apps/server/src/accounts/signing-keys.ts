import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface SigningKey {
  kid: string;
  secret: Uint8Array;
}

export interface SigningKeys {
  /** New tokens are signed with this key. */
  active: SigningKey;
  /** Every key a token may still be verified with (the active one and older ones). */
  byKid: Map<string, SigningKey>;
}

/**
 * Parses `JWT_KEYS` = `kid:base64secret,kid:base64secret`. The active key is `JWT_ACTIVE_KID` or
 * the first listed. To rotate: add a new key first, make it active, and drop the old one after
 * the refresh-token lifetime has passed.
 */
export function parseSigningKeys(spec: string, activeKid?: string): SigningKeys {
  const keys = spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((pair) => {
      const at = pair.indexOf(':');
      const kid = pair.slice(0, at);
      const secret = Buffer.from(pair.slice(at + 1), 'base64');
      if (at <= 0 || !/^[A-Za-z0-9._-]{1,64}$/.test(kid)) throw new Error(`JWT_KEYS: bad key id in "${kid || pair}"`);
      if (secret.length < 32) throw new Error(`JWT_KEYS: key "${kid}" must be at least 32 bytes of base64`);
      return { kid, secret: new Uint8Array(secret) };
    });
  const active = activeKid ? keys.find((k) => k.kid === activeKid) : keys[0];
  if (!active) throw new Error(`JWT_ACTIVE_KID: no key "${activeKid ?? ''}" in JWT_KEYS`);
  return { active, byKid: new Map(keys.map((k) => [k.kid, k])) };
}

/** Embedded mode: one generated key kept in `<dataDir>/keys/jwt-keys` (mode 0600) across restarts. */
export async function loadOrCreateSigningKeys(dataDir: string): Promise<SigningKeys> {
  const file = path.join(dataDir, 'keys', 'jwt-keys');
  try {
    return parseSigningKeys((await readFile(file, 'utf8')).trim());
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const spec = `k${new Date().toISOString().slice(0, 10)}:${randomBytes(32).toString('base64')}`;
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, `${spec}\n`, { mode: 0o600, flag: 'wx' }).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  await chmod(file, 0o600);
  return parseSigningKeys((await readFile(file, 'utf8')).trim());
}

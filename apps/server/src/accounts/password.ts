import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const scrypt = (password: string, salt: Buffer, keylen: number, options: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) =>
    scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))),
  );

const KEY_LENGTH = 32;
const R = 8;
const P = 1;

/**
 * Passwords are hashed with scrypt, a memory-hard function (N = 2^17, r = 8, p = 1 by default:
 * 128 MiB per hash, OWASP's recommendation), with a 16-byte random salt. The stored form keeps
 * the parameters, so raising N later still verifies old hashes:
 * `scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>`.
 */
export class PasswordHasher {
  /** A hash of a random password, verified when an e-mail is unknown so timing does not reveal it. */
  private dummy: Promise<string> | undefined;

  constructor(private readonly n: number) {}

  async hash(password: string): Promise<string> {
    const salt = randomBytes(16);
    const key = await scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, this.options(this.n));
    return ['scrypt', this.n, R, P, salt.toString('base64'), key.toString('base64')].join('$');
  }

  /** Constant-time comparison; a malformed stored hash verifies as false. */
  async verify(password: string, stored: string): Promise<boolean> {
    const parts = stored.split('$');
    if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
    const [n, r, p] = parts.slice(1, 4).map(Number);
    if (!n || !r || !p) return false;
    const salt = Buffer.from(parts[4] ?? '', 'base64');
    const expected = Buffer.from(parts[5] ?? '', 'base64');
    if (expected.length !== KEY_LENGTH) return false;
    const key = await scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, { N: n, r, p, maxmem: maxmem(n, r) });
    return timingSafeEqual(key, expected);
  }

  /** Spends the same time as a real verification, for unknown accounts. */
  async verifyDummy(password: string): Promise<false> {
    this.dummy ??= this.hash(randomBytes(16).toString('hex'));
    await this.verify(password, await this.dummy);
    return false;
  }

  private options(n: number): ScryptOptions {
    return { N: n, r: R, p: P, maxmem: maxmem(n, R) };
  }
}

const maxmem = (n: number, r: number) => 128 * n * r * 2;

import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { AppError } from '../../shared/app-error.ts';

const VERSION = 'v1';

/**
 * Encrypts provider API keys at rest: AES-256-GCM under `SECRETS_KEY` (32 bytes), a fresh 96-bit
 * nonce per key, stored as `v1.<nonce>.<tag>.<ciphertext>` (base64url). The fingerprint is an
 * HMAC-SHA-256 of the plain key under the same secret, so duplicates are found without
 * decrypting and a fingerprint reveals nothing about the key.
 */
export class SecretBox {
  readonly #key: Buffer;

  constructor(hexKey: string) {
    const key = Buffer.from(hexKey, 'hex');
    if (key.length !== 32) throw new AppError('INTERNAL', 'SECRETS_KEY must be 32 bytes (64 hex characters)');
    this.#key = key;
  }

  encrypt(plain: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce);
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [VERSION, nonce, cipher.getAuthTag(), data]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  decrypt(sealed: string): string {
    const [version, nonce, tag, data] = sealed.split('.');
    if (version !== VERSION || !nonce || !tag || data === undefined) {
      throw new AppError('INTEGRITY_CHECK_FAILED', 'Stored secret has an unknown format');
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(nonce, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new AppError('INTEGRITY_CHECK_FAILED', 'Stored secret does not decrypt under SECRETS_KEY');
    }
  }

  /** `fp_` + 16 hex characters; safe to show and to log. */
  fingerprint(plain: string): string {
    return `fp_${createHmac('sha256', this.#key).update(plain).digest('hex').slice(0, 16)}`;
  }
}

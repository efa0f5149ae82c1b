import { describe, expect, it } from 'vitest';
import { PasswordHasher } from './password.ts';

describe('password hashing', () => {
  const hasher = new PasswordHasher(1024);

  it('verifies the right password and refuses a wrong one', async () => {
    const stored = await hasher.hash('correct horse battery staple');
    expect(await hasher.verify('correct horse battery staple', stored)).toBe(true);
    expect(await hasher.verify('correct horse battery stapler', stored)).toBe(false);
  });

  it('never stores the password and salts every hash', async () => {
    const a = await hasher.hash('s3cret-passw0rd');
    const b = await hasher.hash('s3cret-passw0rd');
    expect(a).not.toContain('s3cret');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^scrypt\$1024\$8\$1\$/);
  });

  it('verifies hashes made with other cost parameters', async () => {
    const old = await new PasswordHasher(2048).hash('pw-from-before');
    expect(await hasher.verify('pw-from-before', old)).toBe(true);
  });

  it('treats a malformed stored hash as a failed verification', async () => {
    for (const bad of ['', 'plain', 'scrypt$x$8$1$aa$bb', 'bcrypt$1$2$3$4$5']) {
      expect(await hasher.verify('x', bad)).toBe(false);
    }
  });
});

import { randomBytes } from 'node:crypto';
import { base64url, SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { parseSigningKeys } from './signing-keys.ts';
import { TokenService, type AccessClaims } from './token.service.ts';

const secret = () => randomBytes(32).toString('base64');
const keys = parseSigningKeys(`new:${secret()},old:${secret()}`, 'new');
const settings = { issuer: 'parley', audience: 'parley-api', accessTtlSeconds: 900, clockSkewSeconds: 30 };
const claims: AccessClaims = { userId: 'u1', orgId: 'o1', role: 'recruiter', epoch: 3 };

function serviceAt(ms: number, k = keys) {
  return new TokenService(k, settings, () => ms);
}

const T0 = Date.UTC(2026, 10, 28, 12);

describe('access tokens', () => {
  it('round-trips the claims of a fresh token', async () => {
    const { token, expiresAt } = await serviceAt(T0).signAccess(claims);
    expect(await serviceAt(T0 + 1000).verifyAccess(token)).toEqual(claims);
    expect(expiresAt.getTime()).toBe(T0 + 900_000);
  });

  it('scopes a candidate token to one session', async () => {
    const svc = serviceAt(T0);
    const { token } = await svc.signAccess({ userId: 'c1', orgId: 'o1', role: 'candidate', sessionId: 's1', epoch: 0 });
    expect((await svc.verifyAccess(token)).sessionId).toBe('s1');
  });

  it('expires after 15 minutes, allowing the clock skew', async () => {
    const { token } = await serviceAt(T0).signAccess(claims);
    await expect(serviceAt(T0 + 900_000 + 29_000).verifyAccess(token)).resolves.toBeTruthy();
    await expect(serviceAt(T0 + 900_000 + 31_000).verifyAccess(token)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
  });

  it('refuses a token that is not valid yet beyond the skew', async () => {
    const { token } = await serviceAt(T0 + 120_000).signAccess(claims);
    await expect(serviceAt(T0).verifyAccess(token)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
    await expect(serviceAt(T0 + 100_000).verifyAccess(token)).resolves.toBeTruthy();
  });

  it('still verifies tokens signed with an older key after rotation', async () => {
    const before = parseSigningKeys(`old:${Buffer.from(keys.byKid.get('old')!.secret).toString('base64')}`);
    const { token } = await serviceAt(T0, before).signAccess(claims);
    expect(await serviceAt(T0).verifyAccess(token)).toEqual(claims);
  });

  it('refuses alg none', async () => {
    const token = new UnsecuredJWT({ org: 'o1', role: 'admin', ep: 0 })
      .setSubject('u1')
      .setIssuer('parley')
      .setAudience('parley-api')
      .setIssuedAt(T0 / 1000)
      .setNotBefore(T0 / 1000)
      .setExpirationTime(T0 / 1000 + 60)
      .encode();
    await expect(serviceAt(T0).verifyAccess(token)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
  });

  const forge = async (alg: string, key: Uint8Array, kid: string, overrides: Record<string, string> = {}) =>
    new SignJWT({ org: 'o1', role: 'admin', ep: 0 })
      .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
      .setSubject('u1')
      .setIssuer(overrides.iss ?? 'parley')
      .setAudience(overrides.aud ?? 'parley-api')
      .setIssuedAt(T0 / 1000)
      .setNotBefore(T0 / 1000)
      .setExpirationTime(T0 / 1000 + 60)
      .sign(key);

  it('refuses another algorithm, another key, an unknown kid, another audience or issuer', async () => {
    const svc = serviceAt(T0);
    const right = keys.active.secret;
    const cases = [
      await forge('HS512', new Uint8Array(64).fill(7), 'new'),
      await forge('HS256', randomBytes(32), 'new'),
      await forge('HS256', right, 'nobody'),
      await forge('HS256', right, 'new', { aud: 'other-api' }),
      await forge('HS256', right, 'new', { iss: 'someone-else' }),
    ];
    for (const token of cases) await expect(svc.verifyAccess(token)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
    // The forging helper itself produces an accepted token with the right parameters.
    await expect(svc.verifyAccess(await forge('HS256', right, 'new'))).resolves.toMatchObject({ role: 'admin' });
  });

  it('refuses garbage and tampered payloads', async () => {
    const svc = serviceAt(T0);
    const { token } = await svc.signAccess(claims);
    const [h, , s] = token.split('.');
    const tampered = `${h}.${base64url.encode(JSON.stringify({ sub: 'u1', org: 'o1', role: 'admin' }))}.${s}`;
    for (const t of ['', 'abc', 'a.b.c', tampered]) {
      await expect(svc.verifyAccess(t)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
    }
  });
});

describe('signing key configuration', () => {
  it('refuses short keys and unknown active kids', () => {
    expect(() => parseSigningKeys(`k:${Buffer.alloc(8).toString('base64')}`)).toThrow(/at least 32 bytes/);
    expect(() => parseSigningKeys(`k:${secret()}`, 'other')).toThrow(/JWT_ACTIVE_KID/);
  });
});

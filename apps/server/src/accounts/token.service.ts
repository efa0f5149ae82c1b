import { randomUUID } from 'node:crypto';
import { errors, jwtVerify, SignJWT, type JWTHeaderParameters, type JWTPayload } from 'jose';
import { AppError } from '../shared/app-error.ts';
import type { SigningKeys } from './signing-keys.ts';

export type UserRole = 'admin' | 'recruiter' | 'candidate';

/** What an access token says about its bearer. */
export interface AccessClaims {
  userId: string;
  orgId: string;
  role: UserRole;
  /** Candidates only: the one interview session the token reaches. */
  sessionId?: string;
  /** The user's token epoch; "sign out everywhere" bumps it and older tokens stop working. */
  epoch: number;
}

export interface TokenSettings {
  issuer: string;
  audience: string;
  accessTtlSeconds: number;
  clockSkewSeconds: number;
}

const ALG = 'HS256';
const TYP = 'at+jwt';
/**
 * Media tokens name one resource and travel in a URL (a `<video src>` cannot send headers). Their
 * own type keeps them apart from access tokens: neither is accepted where the other is expected.
 */
const MEDIA_TYP = 'media+jwt';
const ROLES = new Set<UserRole>(['admin', 'recruiter', 'candidate']);

/**
 * Signs and verifies access tokens (JWT, HS256 with a key id, so keys rotate without logging
 * everyone out). Verification accepts only HS256 with a known kid, the right issuer and audience
 * and type, within the clock-skew tolerance: `alg: none`, another algorithm, another key, an
 * expired or not-yet-valid token are all refused.
 */
export class TokenService {
  constructor(
    private readonly keys: SigningKeys,
    private readonly settings: TokenSettings,
    private readonly now: () => number = Date.now,
  ) {}

  get activeKid(): string {
    return this.keys.active.kid;
  }

  signAccess(claims: AccessClaims): Promise<{ token: string; expiresAt: Date }> {
    const payload = {
      org: claims.orgId,
      role: claims.role,
      ep: claims.epoch,
      ...(claims.sessionId ? { sid: claims.sessionId } : {}),
    };
    return this.sign(payload, claims.userId, TYP, this.settings.accessTtlSeconds);
  }

  /** A token for one resource (e.g. `answer:<id>`), carrying the staff member's claims. */
  signMedia(claims: AccessClaims, resource: string, ttlSeconds: number): Promise<{ token: string; expiresAt: Date }> {
    const payload = { org: claims.orgId, role: claims.role, ep: claims.epoch, res: resource };
    return this.sign(payload, claims.userId, MEDIA_TYP, ttlSeconds);
  }

  /** Signs with the active key: issuer, audience, a fresh id, issued and not-before now, expiring in `ttlSeconds`. */
  private async sign(
    payload: Record<string, unknown>,
    subject: string,
    typ: string,
    ttlSeconds: number,
  ): Promise<{ token: string; expiresAt: Date }> {
    const iat = Math.floor(this.now() / 1000);
    const exp = iat + ttlSeconds;
    const jwt = new SignJWT(payload)
      .setProtectedHeader({ alg: ALG, kid: this.keys.active.kid, typ })
      .setSubject(subject)
      .setIssuer(this.settings.issuer)
      .setAudience(this.settings.audience)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(exp)
      .setJti(randomUUID());
    const token = await jwt.sign(this.keys.active.secret);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  /** The claims of a media token issued for exactly `resource`; anything else is TOKEN_INVALID. */
  async verifyMedia(token: string, resource: string): Promise<AccessClaims> {
    const { payload, claims } = await this.verify(token, MEDIA_TYP);
    if (payload.res !== resource) throw new AppError('TOKEN_INVALID', 'The media token is for another resource');
    if (claims.role === 'candidate') throw new AppError('TOKEN_INVALID', 'Media tokens are for staff');
    return claims;
  }

  async verifyAccess(token: string): Promise<AccessClaims> {
    return (await this.verify(token, TYP)).claims;
  }

  private async verify(token: string, typ: string): Promise<{ payload: JWTPayload; claims: AccessClaims }> {
    try {
      const { payload } = await jwtVerify(
        token,
        (header: JWTHeaderParameters) => {
          const key = header.kid ? this.keys.byKid.get(header.kid) : undefined;
          if (!key) throw new AppError('TOKEN_INVALID', 'Unknown signing key');
          return key.secret;
        },
        {
          algorithms: [ALG],
          issuer: this.settings.issuer,
          audience: this.settings.audience,
          typ,
          clockTolerance: this.settings.clockSkewSeconds,
          currentDate: new Date(this.now()),
          requiredClaims: ['sub', 'exp', 'nbf', 'iat'],
        },
      );
      const role = payload.role as UserRole;
      if (typeof payload.sub !== 'string' || typeof payload.org !== 'string' || !ROLES.has(role)) {
        throw new AppError('TOKEN_INVALID', 'Token claims are incomplete');
      }
      if (role === 'candidate' && typeof payload.sid !== 'string') {
        throw new AppError('TOKEN_INVALID', 'Candidate token has no session');
      }
      const claims: AccessClaims = {
        userId: payload.sub,
        orgId: payload.org,
        role,
        epoch: typeof payload.ep === 'number' ? payload.ep : 0,
        ...(typeof payload.sid === 'string' ? { sessionId: payload.sid } : {}),
      };
      return { payload, claims };
    } catch (error) {
      if (error instanceof AppError) throw error;
      const what = typ === TYP ? 'Access token' : 'Media token';
      if (error instanceof errors.JWTExpired) throw new AppError('TOKEN_EXPIRED', `${what} has expired`);
      throw new AppError('TOKEN_INVALID', `${what} is not valid`);
    }
  }
}

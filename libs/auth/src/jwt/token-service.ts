import { randomUUID } from 'node:crypto';
import { AppError, type Clock, decodeId, encodeId } from '@mailwarden/core';
import { type JWTPayload, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { JWT_ALGORITHM, type KeyRing } from './key-ring.ts';

/**
 * Access tokens (RFC 9068 `at+jwt`) and the short mfa-pending tokens of a half-finished sign-in.
 * Both are EdDSA-signed JWTs with a `kid`; verification pins the algorithm, the `typ`, the issuer
 * and the audience, so neither kind passes for the other, `alg: none` and HS256-keyed-with-our-
 * public-key forgeries fail, and a token from another deployment is refused.
 */
export interface TokenServiceOptions {
  keyRing: Pick<KeyRing, 'signingKey' | 'verificationKey'>;
  clock: Clock;
  issuer: string;
  audience: string;
  accessTtlSeconds: number;
  mfaTtlSeconds: number;
}

export interface AccessClaims {
  userId: string;
  tenantId: string;
  sessionId: string;
}

export interface MfaClaims {
  userId: string;
  tenantId: string | null;
  tokenId: string;
  expiresAt: Date;
}

const ACCESS_TYP = 'at+jwt';
const MFA_TYP = 'mfa-pending+jwt';
/** Anything longer is not one of ours; refusing early bounds the work a hostile header costs. */
const MAX_TOKEN_LENGTH = 4096;

export type TokenService = ReturnType<typeof createTokenService>;

export function createTokenService(options: TokenServiceOptions) {
  const { keyRing, clock } = options;
  const mfaAudience = `${options.audience}:mfa`;

  const sign = async (payload: JWTPayload, typ: string, audience: string, ttlSeconds: number) => {
    const { kid, privateKey } = await keyRing.signingKey();
    const issuedAt = Math.floor(clock.now().getTime() / 1000);
    return new SignJWT(payload)
      .setProtectedHeader({ alg: JWT_ALGORITHM, kid, typ })
      .setIssuer(options.issuer)
      .setAudience(audience)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + ttlSeconds)
      .sign(privateKey);
  };

  const verify = async (token: string, typ: string, audience: string): Promise<JWTPayload> => {
    if (token.length > MAX_TOKEN_LENGTH)
      throw new AppError('invalid_token', { detail: 'the token is too long' });
    try {
      const { payload } = await jwtVerify(
        token,
        async (header) => {
          const key = header.kid ? await keyRing.verificationKey(header.kid) : undefined;
          if (!key) throw new AppError('invalid_token', { detail: 'the token names no key of ours' });
          return key;
        },
        {
          algorithms: [JWT_ALGORITHM],
          typ,
          issuer: options.issuer,
          audience,
          currentDate: clock.now(),
          clockTolerance: 5,
          requiredClaims: ['exp', 'iat', 'sub'],
        },
      );
      return payload;
    } catch (err) {
      if (err instanceof AppError) throw err;
      if (err instanceof joseErrors.JWTExpired)
        throw new AppError('token_expired', { detail: 'the token has expired' });
      throw new AppError('invalid_token', { detail: 'the token is not valid here', cause: err });
    }
  };

  const uuidClaim = (payload: JWTPayload, claim: string, prefix: 'usr' | 'ten' | 'ses') => {
    const value = payload[claim];
    const uuid = typeof value === 'string' ? decodeId(prefix, value) : undefined;
    if (!uuid) throw new AppError('invalid_token', { detail: `the token's ${claim} claim is malformed` });
    return uuid;
  };

  return {
    accessTtlSeconds: options.accessTtlSeconds,
    signAccess(claims: AccessClaims & { role: string }): Promise<string> {
      return sign(
        {
          sub: encodeId('usr', claims.userId),
          tid: encodeId('ten', claims.tenantId),
          sid: encodeId('ses', claims.sessionId),
          role: claims.role,
          jti: randomUUID(),
        },
        ACCESS_TYP,
        options.audience,
        options.accessTtlSeconds,
      );
    },
    async verifyAccess(token: string): Promise<AccessClaims> {
      const payload = await verify(token, ACCESS_TYP, options.audience);
      return {
        userId: uuidClaim(payload, 'sub', 'usr'),
        tenantId: uuidClaim(payload, 'tid', 'ten'),
        sessionId: uuidClaim(payload, 'sid', 'ses'),
      };
    },
    signMfaPending(claims: { userId: string; tenantId: string | null }): Promise<string> {
      return sign(
        {
          sub: encodeId('usr', claims.userId),
          ...(claims.tenantId ? { tid: encodeId('ten', claims.tenantId) } : {}),
          jti: randomUUID(),
        },
        MFA_TYP,
        mfaAudience,
        options.mfaTtlSeconds,
      );
    },
    async verifyMfaPending(token: string): Promise<MfaClaims> {
      const payload = await verify(token, MFA_TYP, mfaAudience);
      if (typeof payload.jti !== 'string')
        throw new AppError('invalid_token', { detail: 'the token has no id' });
      return {
        userId: uuidClaim(payload, 'sub', 'usr'),
        tenantId: payload.tid === undefined ? null : uuidClaim(payload, 'tid', 'ten'),
        tokenId: payload.jti,
        expiresAt: new Date((payload.exp ?? 0) * 1000),
      };
    },
  };
}

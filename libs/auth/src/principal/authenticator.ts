import { AppError, type Clock, encodeId, type Logger } from '@mailwarden/core';
import { type Database, withTenant } from '@mailwarden/db';
import type { ApiKeysRepository } from '../api-keys/api-keys.repository.ts';
import { hexDigestsEqual, parseToken, sha256Hex } from '../crypto/tokens.ts';
import type { ApiKeyScope } from '../db-types.ts';
import type { TokenService } from '../jwt/token-service.ts';
import type { AuthCache } from '../sessions/session-cache.ts';
import type { SessionsRepository } from '../sessions/sessions.repository.ts';
import type { CachedSession } from '../sessions/sessions.service.ts';
import { expandScopes, roleOfScopes, scopesOfRole } from './permissions.ts';
import type { Principal } from './principal.ts';

/**
 * Turns an `Authorization: Bearer …` header into a Principal: an access token (JWT, checked
 * against its session on every request) or an API key (`mw_…`). Both lookups are cached for a
 * few seconds (AuthCache); revocations drop the entry at once here and, over Redis, everywhere else.
 */
export type AcceptedCredentials = 'session' | 'api-key' | 'session-or-api-key';

export interface CachedApiKey {
  tenantId: string;
  secretHash: string;
  scopes: ApiKeyScope[];
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

/** last_used_at is written at most this often per key: a busy integration is not a write per request. */
const LAST_USED_RESOLUTION_MS = 60_000;
const BEARER_RE = /^Bearer +([\x21-\x7e]{1,4096})$/i;

export function createAuthenticator(deps: {
  db: Database;
  clock: Clock;
  tokenService: Pick<TokenService, 'verifyAccess'>;
  sessionsRepository: Pick<SessionsRepository, 'findForAuthentication'>;
  apiKeysRepository: Pick<ApiKeysRepository, 'find' | 'touch'>;
  sessionCache: AuthCache<CachedSession>;
  apiKeyCache: AuthCache<CachedApiKey>;
  logger?: Pick<Logger, 'warn'>;
}) {
  const { db, clock, sessionCache, apiKeyCache } = deps;

  const fromAccessToken = async (token: string): Promise<Principal> => {
    const claims = await deps.tokenService.verifyAccess(token);
    let session = sessionCache.get(claims.sessionId);
    if (!session) {
      const epoch = sessionCache.epoch;
      const now = clock.now();
      const row = await withTenant(db, claims.tenantId, (tx) =>
        deps.sessionsRepository.findForAuthentication(tx, claims.tenantId, claims.sessionId),
      );
      if (!row || row.revokedAt || row.expiresAt <= now) {
        throw new AppError('session_revoked', { detail: 'the session of this token has ended' });
      }
      session = {
        tenantId: claims.tenantId,
        userId: row.userId,
        role: row.role,
        mfaVerified: row.mfaVerified,
        passwordChangeRequired: row.passwordChangeRequired,
        requireMfa: row.requireMfa ?? false,
      };
      sessionCache.set(claims.sessionId, session, epoch);
    }
    if (session.userId !== claims.userId || session.tenantId !== claims.tenantId) {
      throw new AppError('invalid_token', { detail: 'the token does not match its session' });
    }
    return {
      tenantId: session.tenantId,
      actorId: encodeId('usr', session.userId),
      actorType: 'user',
      role: session.role,
      scopes: scopesOfRole[session.role],
      userId: session.userId,
      sessionId: claims.sessionId,
      apiKeyId: null,
      mfaVerified: session.mfaVerified,
      restriction: session.passwordChangeRequired
        ? 'password_change'
        : session.requireMfa && !session.mfaVerified
          ? 'mfa_enrolment'
          : null,
    };
  };

  const fromApiKey = async (token: string): Promise<Principal> => {
    const invalid = () =>
      new AppError('invalid_token', { detail: 'the API key is not valid, or was revoked, or has expired' });
    const parsed = parseToken('mw', 2, token);
    if (!parsed) throw invalid();
    const [keyId, tenantId] = parsed.ids as [string, string];
    let key = apiKeyCache.get(keyId);
    if (!key) {
      const epoch = apiKeyCache.epoch;
      const row = await withTenant(db, tenantId, (tx) => deps.apiKeysRepository.find(tx, tenantId, keyId));
      if (!row) throw invalid();
      key = {
        tenantId: row.tenantId,
        secretHash: row.secretHash,
        scopes: row.scopes,
        expiresAt: row.expiresAt,
        revokedAt: row.revokedAt,
        lastUsedAt: row.lastUsedAt,
      };
      apiKeyCache.set(keyId, key, epoch);
    }
    const now = clock.now();
    if (
      key.tenantId !== tenantId ||
      !hexDigestsEqual(sha256Hex(parsed.secret), key.secretHash) ||
      key.revokedAt ||
      (key.expiresAt && key.expiresAt <= now)
    ) {
      throw invalid();
    }
    if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) {
      key.lastUsedAt = now;
      // Off the request path: a failed bookkeeping write must not fail the caller's request.
      withTenant(db, tenantId, (tx) => deps.apiKeysRepository.touch(tx, tenantId, keyId, now)).catch((err) =>
        deps.logger?.warn({ err }, 'could not record API key use'),
      );
    }
    return {
      tenantId,
      actorId: encodeId('key', keyId),
      actorType: 'api_key',
      role: roleOfScopes(key.scopes),
      scopes: expandScopes(key.scopes),
      userId: null,
      sessionId: null,
      apiKeyId: keyId,
      mfaVerified: false,
      restriction: null,
    };
  };

  return {
    async authenticate(authorization: string | undefined, accepted: AcceptedCredentials): Promise<Principal> {
      if (!authorization) {
        throw new AppError('unauthenticated', {
          detail: 'send Authorization: Bearer <access token or API key>',
        });
      }
      const match = BEARER_RE.exec(authorization);
      if (!match)
        throw new AppError('invalid_token', { detail: 'the Authorization header must be "Bearer <token>"' });
      const token = match[1]!;
      if (token.startsWith('mw_')) {
        if (accepted === 'session')
          throw new AppError('unauthenticated', {
            detail: 'this needs a signed-in person; API keys are not accepted here',
          });
        return fromApiKey(token);
      }
      if (accepted === 'api-key') throw new AppError('unauthenticated', { detail: 'this needs an API key' });
      return fromAccessToken(token);
    },
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;

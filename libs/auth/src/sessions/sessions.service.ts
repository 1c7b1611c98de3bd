import { AppError, type Clock, decodeId, encodeId, notFound, uuidv7 } from '@mailwarden/core';
import { type Database, withTenant } from '@mailwarden/db';
import { readUserDirectory } from '../accounts/user-directory.ts';
import type { AuditService } from '../audit/audit.service.ts';
import { hexDigestsEqual, issueToken, parseToken, sha256Hex } from '../crypto/tokens.ts';
import type { Role } from '../db-types.ts';
import type { TokenService } from '../jwt/token-service.ts';
import { assertCan } from '../principal/permissions.ts';
import { type Principal, requireUser, userActor } from '../principal/principal.ts';
import type { Executor, RequestMeta } from '../shared.ts';
import type { AuthCache } from './session-cache.ts';
import type { SessionsRepository } from './sessions.repository.ts';

/**
 * Sessions: one per sign-in and tenant. A session is the family of its refresh tokens; each
 * refresh rotates the token, and presenting a rotated one again means it was copied, so the whole
 * family is revoked (OAuth 2.0 Security BCP, RFC 9700 §4.14.2). Access tokens carry the session id
 * and are checked against it on every request, so revoking a session stops its access tokens too.
 */
export interface TokenPair {
  tokenType: 'Bearer';
  accessToken: string;
  /** Seconds the access token lives. */
  expiresIn: number;
  refreshToken: string;
  sessionId: string;
}

export interface CachedSession {
  tenantId: string;
  userId: string;
  role: Role;
  mfaVerified: boolean;
  passwordChangeRequired: boolean;
  requireMfa: boolean;
}

export interface SessionsServiceDeps {
  db: Database;
  clock: Clock;
  sessionsRepository: SessionsRepository;
  tokenService: Pick<TokenService, 'signAccess' | 'accessTtlSeconds'>;
  auditService: Pick<AuditService, 'record'>;
  sessionCache: AuthCache<CachedSession>;
  refreshTtlSeconds: number;
}

export function createSessionsService(deps: SessionsServiceDeps) {
  const { db, clock, sessionsRepository: repo, sessionCache } = deps;

  const newRefreshToken = async (ex: Executor, tenantId: string, sessionId: string) => {
    const id = uuidv7(clock.now().getTime());
    const { token, hash } = issueToken('mwr', [tenantId, id]);
    await repo.insertRefreshToken(ex, { id, tenantId, sessionId, tokenHash: hash });
    return token;
  };

  const revokeAllInTenant = async (
    ex: Executor,
    tenantId: string,
    userId: string,
    reason: string,
    exceptSessionId?: string,
  ) => {
    const ids = await repo.revokeAllForUser(ex, tenantId, userId, reason, clock.now(), exceptSessionId);
    // Dropped here for this process, and again after the caller's commit (forgetUser): a request
    // that read the row before the commit could otherwise cache it in between.
    for (const id of ids) sessionCache.delete(id);
    return ids;
  };

  return {
    /** Opens a session in `ex` (the caller's transaction, which also records the sign-in). */
    async start(
      ex: Executor,
      input: {
        userId: string;
        tenantId: string;
        role: Role;
        mfaVerified: boolean;
        passwordChangeRequired: boolean;
        meta: RequestMeta;
      },
    ): Promise<TokenPair> {
      const now = clock.now();
      const sessionId = uuidv7(now.getTime());
      await repo.insert(ex, {
        id: sessionId,
        tenantId: input.tenantId,
        userId: input.userId,
        mfaVerified: input.mfaVerified,
        passwordChangeRequired: input.passwordChangeRequired,
        ip: input.meta.ip,
        userAgent: input.meta.userAgent?.slice(0, 300) ?? null,
        createdAt: now,
        lastSeenAt: now,
        expiresAt: new Date(now.getTime() + deps.refreshTtlSeconds * 1000),
      });
      const refreshToken = await newRefreshToken(ex, input.tenantId, sessionId);
      const accessToken = await deps.tokenService.signAccess({
        userId: input.userId,
        tenantId: input.tenantId,
        sessionId,
        role: input.role,
      });
      return {
        tokenType: 'Bearer',
        accessToken,
        expiresIn: deps.tokenService.accessTtlSeconds,
        refreshToken,
        sessionId: encodeId('ses', sessionId),
      };
    },

    /** Rotates a refresh token. A second use of a rotated token ends the session. */
    async refresh(refreshToken: string, meta: RequestMeta): Promise<TokenPair> {
      const parsed = parseToken('mwr', 2, refreshToken);
      if (!parsed) throw new AppError('invalid_token', { detail: 'this is not a refresh token of ours' });
      const [tenantId, tokenId] = parsed.ids as [string, string];
      const now = clock.now();
      const outcome = await withTenant(db, tenantId, async (tx) => {
        const row = await repo.lockRefreshToken(tx, tenantId, tokenId);
        if (!row || !hexDigestsEqual(sha256Hex(parsed.secret), row.tokenHash))
          return { kind: 'invalid' as const };
        if (row.usedAt) {
          const session = await repo.findSession(tx, tenantId, row.sessionId);
          if (await repo.revoke(tx, tenantId, row.sessionId, 'refresh_token_reused', now)) {
            await deps.auditService.record(tx, tenantId, {
              action: 'session.refresh_token_reused',
              actor: session ? userActor(session.userId) : { type: 'anonymous', id: null },
              target: { type: 'session', id: encodeId('ses', row.sessionId) },
              ip: meta.ip,
              userAgent: meta.userAgent,
              details: { rotatedAt: row.usedAt.toISOString() },
            });
          }
          return { kind: 'reused' as const, sessionId: row.sessionId };
        }
        const session = await repo.findForAuthentication(tx, tenantId, row.sessionId);
        if (!session || session.revokedAt || session.expiresAt <= now) return { kind: 'ended' as const };
        await repo.markRefreshTokenUsed(tx, tenantId, tokenId, now);
        const next = await newRefreshToken(tx, tenantId, row.sessionId);
        await repo.update(tx, tenantId, row.sessionId, {
          lastSeenAt: now,
          ip: meta.ip,
          userAgent: meta.userAgent?.slice(0, 300) ?? null,
        });
        return {
          kind: 'rotated' as const,
          next,
          sessionId: row.sessionId,
          userId: session.userId,
          role: session.role,
        };
      });
      if (outcome.kind === 'invalid')
        throw new AppError('invalid_token', { detail: 'this refresh token is not valid' });
      if (outcome.kind === 'reused') {
        sessionCache.delete(outcome.sessionId);
        throw new AppError('refresh_token_reused', {
          detail: 'this refresh token was already used; the session has been ended',
        });
      }
      if (outcome.kind === 'ended')
        throw new AppError('session_revoked', { detail: 'the session has ended' });
      const accessToken = await deps.tokenService.signAccess({
        userId: outcome.userId,
        tenantId,
        sessionId: outcome.sessionId,
        role: outcome.role,
      });
      return {
        tokenType: 'Bearer',
        accessToken,
        expiresIn: deps.tokenService.accessTtlSeconds,
        refreshToken: outcome.next,
        sessionId: encodeId('ses', outcome.sessionId),
      };
    },

    async list(principal: Principal) {
      assertCan(principal, 'account.self');
      const user = requireUser(principal);
      const rows = await withTenant(db, user.tenantId, (tx) =>
        repo.listActiveForUser(tx, user.tenantId, user.userId, clock.now()),
      );
      return rows.map((r) => ({
        id: encodeId('ses', r.id),
        current: r.id === user.sessionId,
        mfaVerified: r.mfaVerified,
        ip: r.ip,
        userAgent: r.userAgent,
        createdAt: r.createdAt.toISOString(),
        lastSeenAt: r.lastSeenAt.toISOString(),
        expiresAt: r.expiresAt.toISOString(),
      }));
    },

    /** Ends one of the caller's own sessions in this tenant (the current one for logout). */
    async revoke(principal: Principal, sessionTypedId: string | null, meta: RequestMeta) {
      const user = requireUser(principal);
      const sessionId = sessionTypedId === null ? user.sessionId : decodeId('ses', sessionTypedId);
      if (!sessionId) throw notFound('session', sessionTypedId ?? '');
      await withTenant(db, user.tenantId, async (tx) => {
        const row = await repo.findForUser(tx, user.tenantId, user.userId, sessionId);
        if (!row) throw notFound('session', sessionTypedId ?? '');
        if (await repo.revoke(tx, user.tenantId, sessionId, 'logout', clock.now())) {
          await deps.auditService.record(tx, user.tenantId, {
            action: 'session.revoked',
            actor: userActor(user.userId),
            target: { type: 'session', id: encodeId('ses', sessionId) },
            ip: meta.ip,
            userAgent: meta.userAgent,
          });
        }
      });
      sessionCache.delete(sessionId);
    },

    /** Ends every session of the caller, in every tenant they belong to. */
    async revokeEverywhere(principal: Principal, meta: RequestMeta) {
      const user = requireUser(principal);
      let count = 0;
      for (const entry of await readUserDirectory(db, user.userId)) {
        await withTenant(db, entry.tenantId, async (tx) => {
          const ids = await revokeAllInTenant(tx, entry.tenantId, user.userId, 'logout_everywhere');
          count += ids.length;
          await deps.auditService.record(tx, entry.tenantId, {
            action: 'session.revoked_everywhere',
            actor: userActor(user.userId),
            ip: meta.ip,
            userAgent: meta.userAgent,
            details: { sessions: ids.length },
          });
        });
      }
      sessionCache.deleteWhere({ userId: user.userId });
      return { revokedSessions: count };
    },

    revokeAllInTenant,

    /** Drops every cached session check of a user, in every process; call after committing a revocation. */
    forgetUser(userId: string) {
      sessionCache.deleteWhere({ userId });
    },

    /** Lifts a restriction of a session (2FA enrolled, password changed), in its tenant's transaction. */
    async setFlags(
      tenantId: string,
      sessionId: string,
      flags: { mfaVerified?: boolean; passwordChangeRequired?: boolean },
    ) {
      await withTenant(db, tenantId, (tx) => repo.update(tx, tenantId, sessionId, flags));
      sessionCache.delete(sessionId);
    },
  };
}

export type SessionsService = ReturnType<typeof createSessionsService>;

import { type Database, schema } from '@mailwarden/db';
import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import type { Executor } from '../shared.ts';

/** Sessions and their refresh tokens. Every method filters by tenant as well as by id. */
export function createSessionsRepository(_db: Database) {
  const s = schema.sessions;
  const rt = schema.refreshTokens;
  return {
    async insert(ex: Executor, row: typeof s.$inferInsert & { tenantId: string }) {
      await ex.insert(s).values(row);
    },
    /** What the per-request check needs, in one statement: the session, the member's current role, the tenant's 2FA rule. */
    async findForAuthentication(ex: Executor, tenantId: string, sessionId: string) {
      const [row] = await ex
        .select({
          userId: s.userId,
          revokedAt: s.revokedAt,
          expiresAt: s.expiresAt,
          mfaVerified: s.mfaVerified,
          passwordChangeRequired: s.passwordChangeRequired,
          role: schema.memberships.role,
          requireMfa: schema.tenantSettings.requireMfa,
        })
        .from(s)
        .innerJoin(
          schema.memberships,
          and(eq(schema.memberships.tenantId, s.tenantId), eq(schema.memberships.userId, s.userId)),
        )
        .leftJoin(schema.tenantSettings, eq(schema.tenantSettings.tenantId, s.tenantId))
        .where(and(eq(s.tenantId, tenantId), eq(s.id, sessionId)))
        .limit(1);
      return row;
    },
    listActiveForUser(ex: Executor, tenantId: string, userId: string, now: Date) {
      return ex
        .select()
        .from(s)
        .where(
          and(
            eq(s.tenantId, tenantId),
            eq(s.userId, userId),
            isNull(s.revokedAt),
            sql`${s.expiresAt} > ${now}`,
          ),
        )
        .orderBy(desc(s.lastSeenAt));
    },
    async findForUser(ex: Executor, tenantId: string, userId: string, sessionId: string) {
      const [row] = await ex
        .select()
        .from(s)
        .where(and(eq(s.tenantId, tenantId), eq(s.userId, userId), eq(s.id, sessionId)));
      return row;
    },
    async revoke(ex: Executor, tenantId: string, sessionId: string, reason: string, at: Date) {
      const rows = await ex
        .update(s)
        .set({ revokedAt: at, revokedReason: reason })
        .where(and(eq(s.tenantId, tenantId), eq(s.id, sessionId), isNull(s.revokedAt)))
        .returning({ id: s.id });
      return rows.length > 0;
    },
    async revokeAllForUser(
      ex: Executor,
      tenantId: string,
      userId: string,
      reason: string,
      at: Date,
      exceptSessionId?: string,
    ) {
      const rows = await ex
        .update(s)
        .set({ revokedAt: at, revokedReason: reason })
        .where(
          and(
            eq(s.tenantId, tenantId),
            eq(s.userId, userId),
            isNull(s.revokedAt),
            exceptSessionId ? sql`${s.id} <> ${exceptSessionId}` : undefined,
          ),
        )
        .returning({ id: s.id });
      return rows.map((r) => r.id);
    },
    async update(
      ex: Executor,
      tenantId: string,
      sessionId: string,
      patch: Partial<
        Pick<
          typeof s.$inferInsert,
          'mfaVerified' | 'passwordChangeRequired' | 'lastSeenAt' | 'ip' | 'userAgent'
        >
      >,
    ) {
      await ex
        .update(s)
        .set(patch)
        .where(and(eq(s.tenantId, tenantId), eq(s.id, sessionId)));
    },
    async insertRefreshToken(
      ex: Executor,
      row: { id: string; tenantId: string; sessionId: string; tokenHash: string },
    ) {
      await ex.insert(rt).values(row);
    },
    /** Locks the token row, so two concurrent uses of one token are decided one after the other. */
    async lockRefreshToken(ex: Executor, tenantId: string, tokenId: string) {
      const [row] = await ex
        .select()
        .from(rt)
        .where(and(eq(rt.tenantId, tenantId), eq(rt.id, tokenId)))
        .for('update');
      return row;
    },
    async markRefreshTokenUsed(ex: Executor, tenantId: string, tokenId: string, at: Date) {
      await ex
        .update(rt)
        .set({ usedAt: at })
        .where(and(eq(rt.tenantId, tenantId), eq(rt.id, tokenId)));
    },
    async findSession(ex: Executor, tenantId: string, sessionId: string) {
      const [row] = await ex
        .select()
        .from(s)
        .where(and(eq(s.tenantId, tenantId), eq(s.id, sessionId)));
      return row;
    },
  };
}

export type SessionsRepository = ReturnType<typeof createSessionsRepository>;

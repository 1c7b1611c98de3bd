import { type Database, schema } from '@mailwarden/db';
import { asc, eq, sql } from 'drizzle-orm';
import type { Role } from '../db-types.ts';
import { baselinePolicy, type CharacterClass, type PasswordPolicy } from '../passwords/password-rules.ts';

/**
 * The one cross-tenant read (docs/decisions/0003): the tenants a user belongs to, their role and
 * those tenants' security settings. It runs in its own transaction with `app.user_id` set and no
 * `app.tenant_id`, which the `user_directory` policies (SELECT only) answer; nothing else in the
 * code sets `app.user_id`. Callers are the accounts services, for a user they have identified.
 */
export interface DirectoryEntry {
  tenantId: string;
  tenantName: string;
  role: Role;
  joinedAt: Date;
  requireMfa: boolean;
  passwordPolicy: PasswordPolicy;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export async function readUserDirectory(db: Database, userId: string): Promise<DirectoryEntry[]> {
  if (!UUID_RE.test(userId)) throw new Error('readUserDirectory needs a user uuid');
  const rows = await db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('app.user_id', ${userId}, true)`);
    return tx
      .select({
        tenantId: schema.memberships.tenantId,
        tenantName: schema.tenants.name,
        role: schema.memberships.role,
        joinedAt: schema.memberships.createdAt,
        requireMfa: schema.tenantSettings.requireMfa,
        minLength: schema.tenantSettings.passwordMinLength,
        requiredClasses: schema.tenantSettings.passwordRequiredClasses,
        maxAgeDays: schema.tenantSettings.passwordMaxAgeDays,
        historyCount: schema.tenantSettings.passwordHistoryCount,
      })
      .from(schema.memberships)
      .innerJoin(schema.tenants, eq(schema.tenants.id, schema.memberships.tenantId))
      .leftJoin(schema.tenantSettings, eq(schema.tenantSettings.tenantId, schema.memberships.tenantId))
      .where(eq(schema.memberships.userId, userId))
      .orderBy(asc(schema.memberships.createdAt), asc(schema.memberships.tenantId));
  });
  return rows.map((r) => ({
    tenantId: r.tenantId,
    tenantName: r.tenantName,
    role: r.role,
    joinedAt: r.joinedAt,
    requireMfa: r.requireMfa ?? false,
    passwordPolicy: {
      minLength: r.minLength ?? baselinePolicy.minLength,
      requiredClasses: (r.requiredClasses ?? []) as CharacterClass[],
      maxAgeDays: r.maxAgeDays ?? 0,
      historyCount: r.historyCount ?? 0,
    },
  }));
}

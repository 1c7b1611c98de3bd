import { AppError, type Clock, decodeId, encodeId, uuidv7 } from '@mailwarden/core';
import { type Database, withTenant } from '@mailwarden/db';
import { assertCan } from '../principal/permissions.ts';
import type { Principal } from '../principal/principal.ts';
import type { Executor } from '../shared.ts';
import type { AuditEntry, AuditEventRecord, AuditRepository } from './audit.repository.ts';

/**
 * The tenant audit log. Events are written in the same transaction as the change they describe
 * (`record` takes the open transaction), so a change is never without its event; reads are for
 * admins, newest first, with an opaque cursor.
 */
export const AUDIT_PAGE_MAX = 100;

export interface AuditEventView {
  id: string;
  action: string;
  actor: { type: string; id: string | null };
  target: { type: string; id: string } | null;
  ip: string | null;
  userAgent: string | null;
  details: Record<string, unknown>;
  occurredAt: string;
}

export function toAuditView(row: AuditEventRecord): AuditEventView {
  return {
    id: encodeId('aud', row.id),
    action: row.action,
    actor: { type: row.actor_type, id: row.actor_id },
    target: row.target_type && row.target_id ? { type: row.target_type, id: row.target_id } : null,
    ip: row.ip,
    userAgent: row.user_agent,
    details: row.details,
    occurredAt: (row.occurred_at instanceof Date ? row.occurred_at : new Date(row.occurred_at)).toISOString(),
  };
}

export function createAuditService(deps: { db: Database; clock: Clock; auditRepository: AuditRepository }) {
  const { db, clock, auditRepository } = deps;
  const record = (ex: Executor, tenantId: string, entry: AuditEntry) =>
    auditRepository.insert(ex, tenantId, uuidv7(clock.now().getTime()), entry, clock.now());
  return {
    record,
    /** One event in each of several tenants (a user-level change seen by every tenant of the user). */
    async recordInTenants(tenantIds: readonly string[], entry: AuditEntry) {
      for (const tenantId of tenantIds) await withTenant(db, tenantId, (tx) => record(tx, tenantId, entry));
    },
    async list(principal: Principal, options: { limit: number; cursor?: string }) {
      assertCan(principal, 'audit.read');
      const limit = Math.min(Math.max(options.limit, 1), AUDIT_PAGE_MAX);
      let beforeId: string | undefined;
      if (options.cursor !== undefined) {
        beforeId = decodeId('aud', options.cursor);
        if (!beforeId)
          throw new AppError('validation_failed', {
            detail: 'the cursor is not one we gave out',
            errors: [{ location: 'query.cursor', message: 'is not a valid cursor' }],
          });
      }
      const rows = await withTenant(db, principal.tenantId, (tx) =>
        auditRepository.list(tx, principal.tenantId, { limit: limit + 1, beforeId }),
      );
      const page = rows.slice(0, limit).map(toAuditView);
      return { items: page, nextCursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null };
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;

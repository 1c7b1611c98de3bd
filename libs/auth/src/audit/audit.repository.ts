import { type Database, schema } from '@mailwarden/db';
import { sql } from 'drizzle-orm';
import type { AuditActorType } from '../db-types.ts';
import type { AuditActor } from '../principal/principal.ts';
import type { Executor } from '../shared.ts';

export interface AuditEntry {
  action: string;
  actor: AuditActor;
  target?: { type: string; id: string };
  ip?: string | null;
  userAgent?: string | null;
  /** Names, roles, scope lists, reasons; never secrets. */
  details?: Record<string, unknown>;
}

/** Longest user agent kept: enough to recognise a browser, not a place to store a payload. */
const USER_AGENT_MAX = 300;

/** An audit row as Postgres returns it (snake_case), read by the list. */
export interface AuditEventRecord extends Record<string, unknown> {
  id: string;
  action: string;
  actor_type: AuditActorType;
  actor_id: string | null;
  target_type: string | null;
  target_id: string | null;
  ip: string | null;
  user_agent: string | null;
  details: Record<string, unknown>;
  occurred_at: Date | string;
}

export function createAuditRepository(_db: Database) {
  return {
    async insert(ex: Executor, tenantId: string, id: string, entry: AuditEntry, at: Date) {
      await ex.insert(schema.auditEvents).values({
        id,
        tenantId,
        action: entry.action,
        actorType: entry.actor.type,
        actorId: entry.actor.id,
        targetType: entry.target?.type ?? null,
        targetId: entry.target?.id ?? null,
        ip: entry.ip ?? null,
        userAgent: entry.userAgent?.slice(0, USER_AGENT_MAX) ?? null,
        details: entry.details ?? {},
        occurredAt: at,
      });
    },
    /**
     * Newest first; `beforeId` is the cursor (ids are UUIDv7, so id order is time order). Plain SQL
     * rather than the query builder: this is the largest page the API serves, and drizzle's
     * per-column mapping cost a third of the database time of the list (measured, bench/).
     */
    async list(
      ex: Executor,
      tenantId: string,
      options: { limit: number; beforeId?: string },
    ): Promise<AuditEventRecord[]> {
      const a = schema.auditEvents;
      const before = options.beforeId ? sql`and ${a.id} < ${options.beforeId}` : sql``;
      const { rows } = await ex.execute<AuditEventRecord>(sql`
        select id, action, actor_type, actor_id, target_type, target_id, ip, user_agent, details, occurred_at
          from ${a} where ${a.tenantId} = ${tenantId} ${before}
         order by ${a.id} desc limit ${options.limit}`);
      return rows;
    },
  };
}

export type AuditRepository = ReturnType<typeof createAuditRepository>;

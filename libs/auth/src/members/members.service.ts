import { AppError, decodeId, encodeId, notFound } from '@mailwarden/core';
import { type Database, type Tx, withTenant } from '@mailwarden/db';
import type { AuditService } from '../audit/audit.service.ts';
import type { Role } from '../db-types.ts';
import { assertCan } from '../principal/permissions.ts';
import { actorOf, type Principal } from '../principal/principal.ts';
import type { AuthCache } from '../sessions/session-cache.ts';
import type { SessionsService } from '../sessions/sessions.service.ts';
import type { RequestMeta } from '../shared.ts';
import type { MembersRepository } from './members.repository.ts';

/**
 * Members of a tenant and their roles (docs/permissions.md). Only an owner may touch the owner
 * role, and a tenant always keeps one owner. Removing a member ends their sessions in this tenant
 * in the same transaction, and drops them from this process's session cache at once.
 */
export interface MemberView {
  id: string;
  userId: string;
  email: string;
  displayName: string | null;
  role: Role;
  joinedAt: string;
}

export function toMemberView(row: {
  id: string;
  userId: string;
  email: string;
  displayName: string | null;
  role: Role;
  createdAt: Date;
}): MemberView {
  return {
    id: encodeId('mem', row.id),
    userId: encodeId('usr', row.userId),
    email: row.email,
    displayName: row.displayName,
    role: row.role,
    joinedAt: row.createdAt.toISOString(),
  };
}

export function createMembersService(deps: {
  db: Database;
  membersRepository: MembersRepository;
  auditService: Pick<AuditService, 'record'>;
  sessionsService: Pick<SessionsService, 'revokeAllInTenant'>;
  sessionCache: Pick<AuthCache<unknown>, 'deleteWhere'>;
}) {
  const { db, membersRepository: repo } = deps;
  const memberIdOf = (typedId: string) => {
    const id = decodeId('mem', typedId);
    if (!id) throw notFound('member', typedId);
    return id;
  };

  /** Loads the member, checks the caller may act on them, and guards the last owner. */
  const guarded = async (tx: Tx, principal: Principal, typedId: string, newRole: Role | null) => {
    const member = await repo.find(tx, principal.tenantId, memberIdOf(typedId));
    if (!member) throw notFound('member', typedId);
    if (member.role === 'owner' || newRole === 'owner') assertCan(principal, 'members.manage_owners');
    if (member.role === 'owner' && newRole !== 'owner') {
      const owners = await repo.lockOwners(tx, principal.tenantId);
      if (owners.length <= 1) throw new AppError('last_owner', { detail: 'make another member owner first' });
    }
    return member;
  };

  return {
    async list(principal: Principal) {
      assertCan(principal, 'members.read');
      const rows = await withTenant(db, principal.tenantId, (tx) => repo.list(tx, principal.tenantId));
      return rows.map(toMemberView);
    },

    async get(principal: Principal, typedId: string) {
      assertCan(principal, 'members.read');
      const row = await withTenant(db, principal.tenantId, (tx) =>
        repo.find(tx, principal.tenantId, memberIdOf(typedId)),
      );
      if (!row) throw notFound('member', typedId);
      return toMemberView(row);
    },

    /** For loaders: profiles of these users, limited to members of the caller's tenant. */
    async usersInTenant(principal: Principal, userIds: string[]) {
      assertCan(principal, 'members.read');
      const rows = await withTenant(db, principal.tenantId, (tx) =>
        repo.usersInTenant(tx, principal.tenantId, userIds),
      );
      return new Map(rows.map((r) => [r.userId, toMemberView(r)]));
    },

    async changeRole(principal: Principal, typedId: string, role: Role, meta: RequestMeta) {
      assertCan(principal, 'members.update');
      const updated = await withTenant(db, principal.tenantId, async (tx) => {
        const member = await guarded(tx, principal, typedId, role);
        if (member.role === role) return member;
        await repo.updateRole(tx, principal.tenantId, member.id, role);
        await deps.auditService.record(tx, principal.tenantId, {
          action: 'member.role_changed',
          actor: actorOf(principal),
          target: { type: 'member', id: typedId },
          ip: meta.ip,
          userAgent: meta.userAgent,
          details: { user: encodeId('usr', member.userId), from: member.role, to: role },
        });
        return { ...member, role };
      });
      // Cached sessions carry the role; the next request must see the new one.
      deps.sessionCache.deleteWhere({ tenantId: principal.tenantId, userId: updated.userId });
      return toMemberView(updated);
    },

    async remove(principal: Principal, typedId: string, meta: RequestMeta) {
      assertCan(principal, 'members.remove');
      const removed = await withTenant(db, principal.tenantId, async (tx) => {
        const member = await guarded(tx, principal, typedId, null);
        await repo.remove(tx, principal.tenantId, member.id);
        const sessions = await deps.sessionsService.revokeAllInTenant(
          tx,
          principal.tenantId,
          member.userId,
          'member_removed',
        );
        await deps.auditService.record(tx, principal.tenantId, {
          action: 'member.removed',
          actor: actorOf(principal),
          target: { type: 'member', id: typedId },
          ip: meta.ip,
          userAgent: meta.userAgent,
          details: {
            user: encodeId('usr', member.userId),
            role: member.role,
            sessionsEnded: sessions.length,
          },
        });
        return member;
      });
      deps.sessionCache.deleteWhere({ tenantId: principal.tenantId, userId: removed.userId });
    },
  };
}

export type MembersService = ReturnType<typeof createMembersService>;

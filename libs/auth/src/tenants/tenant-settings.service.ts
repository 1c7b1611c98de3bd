import { AppError, encodeId, notFound } from '@mailwarden/core';
import { type Database, withTenant } from '@mailwarden/db';
import type { AuditService } from '../audit/audit.service.ts';
import type { TenantSettingsRow } from '../db-types.ts';
import { baselinePolicy, type CharacterClass } from '../passwords/password-rules.ts';
import { assertCan } from '../principal/permissions.ts';
import { actorOf, type Principal } from '../principal/principal.ts';
import type { AuthCache } from '../sessions/session-cache.ts';
import type { RequestMeta } from '../shared.ts';
import type { TenantSettingsRepository } from './tenant-settings.repository.ts';

/** The tenant itself and its security settings: 2FA for all members, the password policy. */
export interface SecuritySettings {
  requireMfa: boolean;
  passwordPolicy: {
    minLength: number;
    requiredClasses: CharacterClass[];
    maxAgeDays: number;
    historyCount: number;
  };
}

export interface SecuritySettingsPatch {
  requireMfa?: boolean;
  passwordPolicy?: Partial<SecuritySettings['passwordPolicy']>;
}

export function settingsView(row: TenantSettingsRow | undefined): SecuritySettings {
  return {
    requireMfa: row?.requireMfa ?? false,
    passwordPolicy: {
      minLength: row?.passwordMinLength ?? baselinePolicy.minLength,
      requiredClasses: (row?.passwordRequiredClasses ?? []) as CharacterClass[],
      maxAgeDays: row?.passwordMaxAgeDays ?? 0,
      historyCount: row?.passwordHistoryCount ?? 0,
    },
  };
}

export function createTenantSettingsService(deps: {
  db: Database;
  tenantSettingsRepository: TenantSettingsRepository;
  auditService: Pick<AuditService, 'record'>;
  /** Cached sessions carry the tenant's 2FA rule; a change must reach them at once. */
  sessionCache: Pick<AuthCache<unknown>, 'deleteWhere'>;
}) {
  const { db, tenantSettingsRepository: repo } = deps;
  return {
    async get(principal: Principal) {
      assertCan(principal, 'tenant.read');
      return withTenant(db, principal.tenantId, async (tx) => {
        const tenant = await repo.findTenant(tx, principal.tenantId);
        if (!tenant) throw notFound('tenant', encodeId('ten', principal.tenantId));
        return {
          id: encodeId('ten', tenant.id),
          name: tenant.name,
          createdAt: tenant.createdAt.toISOString(),
          settings: settingsView(await repo.find(tx, principal.tenantId)),
        };
      });
    },

    async update(
      principal: Principal,
      patch: SecuritySettingsPatch,
      meta: RequestMeta,
    ): Promise<SecuritySettings> {
      assertCan(principal, 'tenant.settings.update');
      if (patch.requireMfa && principal.actorType === 'user' && !principal.mfaVerified) {
        // Otherwise the person switching it on would be locked into enrolment on their next request.
        throw new AppError('conflict', {
          detail: 'turn on two-factor authentication for your own account first',
        });
      }
      return withTenant(db, principal.tenantId, async (tx) => {
        const before = settingsView(await repo.find(tx, principal.tenantId));
        const policy = patch.passwordPolicy ?? {};
        const row = await repo.upsert(tx, principal.tenantId, {
          ...(patch.requireMfa !== undefined ? { requireMfa: patch.requireMfa } : {}),
          ...(policy.minLength !== undefined ? { passwordMinLength: policy.minLength } : {}),
          ...(policy.requiredClasses !== undefined
            ? { passwordRequiredClasses: [...new Set(policy.requiredClasses)].sort() }
            : {}),
          ...(policy.maxAgeDays !== undefined ? { passwordMaxAgeDays: policy.maxAgeDays } : {}),
          ...(policy.historyCount !== undefined ? { passwordHistoryCount: policy.historyCount } : {}),
        });
        const after = settingsView(row);
        await deps.auditService.record(tx, principal.tenantId, {
          action: 'tenant.settings_updated',
          actor: actorOf(principal),
          target: { type: 'tenant', id: encodeId('ten', principal.tenantId) },
          ip: meta.ip,
          userAgent: meta.userAgent,
          details: { before, after },
        });
        return after;
      }).finally(() => deps.sessionCache.deleteWhere({ tenantId: principal.tenantId }));
    },
  };
}

export type TenantSettingsService = ReturnType<typeof createTenantSettingsService>;

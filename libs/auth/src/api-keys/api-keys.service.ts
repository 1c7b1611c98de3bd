import { randomUUID } from 'node:crypto';
import { AppError, type Clock, decodeId, encodeId, notFound } from '@mailwarden/core';
import { type Database, withTenant } from '@mailwarden/db';
import type { AuditService } from '../audit/audit.service.ts';
import { formatToken, newSecret, sha256Hex } from '../crypto/tokens.ts';
import type { ApiKeyRow, ApiKeyScope } from '../db-types.ts';
import { assertCan } from '../principal/permissions.ts';
import { actorOf, type Principal } from '../principal/principal.ts';
import type { AuthCache } from '../sessions/session-cache.ts';
import type { RequestMeta } from '../shared.ts';
import type { ApiKeysRepository } from './api-keys.repository.ts';

/**
 * API keys for integrations: `mw_` + key id + tenant id + 256-bit secret. The key is shown once,
 * at creation; we keep its SHA-256 and its first characters (`prefix`) so people can tell keys
 * apart. Key ids are random (not time-ordered) so that the prefix itself differs between keys.
 */
export const API_KEY_PREFIX_LENGTH = 11;

export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  scopes: ApiKeyScope[];
  createdAt: string;
  createdBy: string | null;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export function toApiKeyView(row: ApiKeyRow): ApiKeyView {
  return {
    id: encodeId('key', row.id),
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdByUserId ? encodeId('usr', row.createdByUserId) : null,
    expiresAt: row.expiresAt?.toISOString() ?? null,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}

export function createApiKeysService(deps: {
  db: Database;
  clock: Clock;
  apiKeysRepository: ApiKeysRepository;
  auditService: Pick<AuditService, 'record'>;
  /** Cached key lookups of the authenticator; revoking drops the entry at once. */
  apiKeyCache: Pick<AuthCache<unknown>, 'delete'>;
}) {
  const { db, clock, apiKeysRepository: repo } = deps;
  const keyIdOf = (typedId: string) => {
    const id = decodeId('key', typedId);
    if (!id) throw notFound('API key', typedId);
    return id;
  };

  return {
    async create(
      principal: Principal,
      input: { name: string; scopes: ApiKeyScope[]; expiresAt?: string | null },
      meta: RequestMeta,
    ) {
      assertCan(principal, 'api_keys.manage');
      const expiresAt = input.expiresAt ? new Date(input.expiresAt) : null;
      if (expiresAt && expiresAt <= clock.now()) {
        throw new AppError('validation_failed', {
          detail: 'expiresAt must be in the future',
          errors: [{ location: 'body.expiresAt', message: 'must be in the future' }],
        });
      }
      const id = randomUUID();
      const secret = newSecret();
      const key = formatToken('mw', [id, principal.tenantId], secret);
      const row = await withTenant(db, principal.tenantId, async (tx) => {
        const created = await repo.insert(tx, {
          id,
          tenantId: principal.tenantId,
          name: input.name,
          prefix: key.slice(0, API_KEY_PREFIX_LENGTH),
          secretHash: sha256Hex(secret),
          scopes: [...new Set(input.scopes)].sort(),
          expiresAt,
          createdByUserId: principal.userId,
        });
        await deps.auditService.record(tx, principal.tenantId, {
          action: 'api_key.created',
          actor: actorOf(principal),
          target: { type: 'api_key', id: encodeId('key', id) },
          ip: meta.ip,
          userAgent: meta.userAgent,
          details: { name: input.name, scopes: created.scopes, expiresAt: expiresAt?.toISOString() ?? null },
        });
        return created;
      });
      return { apiKey: toApiKeyView(row), key };
    },

    async list(principal: Principal) {
      assertCan(principal, 'api_keys.read');
      const rows = await withTenant(db, principal.tenantId, (tx) => repo.list(tx, principal.tenantId));
      return rows.map(toApiKeyView);
    },

    async get(principal: Principal, typedId: string) {
      assertCan(principal, 'api_keys.read');
      const row = await withTenant(db, principal.tenantId, (tx) =>
        repo.find(tx, principal.tenantId, keyIdOf(typedId)),
      );
      if (!row) throw notFound('API key', typedId);
      return toApiKeyView(row);
    },

    async rename(principal: Principal, typedId: string, name: string, meta: RequestMeta) {
      assertCan(principal, 'api_keys.manage');
      const id = keyIdOf(typedId);
      return withTenant(db, principal.tenantId, async (tx) => {
        const before = await repo.find(tx, principal.tenantId, id);
        const row = before && (await repo.rename(tx, principal.tenantId, id, name));
        if (!before || !row) throw notFound('API key', typedId);
        await deps.auditService.record(tx, principal.tenantId, {
          action: 'api_key.renamed',
          actor: actorOf(principal),
          target: { type: 'api_key', id: typedId },
          ip: meta.ip,
          userAgent: meta.userAgent,
          details: { from: before.name, to: name },
        });
        return toApiKeyView(row);
      });
    },

    async revoke(principal: Principal, typedId: string, meta: RequestMeta) {
      assertCan(principal, 'api_keys.manage');
      const id = keyIdOf(typedId);
      const row = await withTenant(db, principal.tenantId, async (tx) => {
        const existing = await repo.find(tx, principal.tenantId, id);
        if (!existing) throw notFound('API key', typedId);
        const revoked = await repo.revoke(tx, principal.tenantId, id, clock.now());
        if (revoked) {
          await deps.auditService.record(tx, principal.tenantId, {
            action: 'api_key.revoked',
            actor: actorOf(principal),
            target: { type: 'api_key', id: typedId },
            ip: meta.ip,
            userAgent: meta.userAgent,
            details: { name: existing.name },
          });
        }
        return revoked ?? existing;
      });
      deps.apiKeyCache.delete(id);
      return toApiKeyView(row);
    },
  };
}

export type ApiKeysService = ReturnType<typeof createApiKeysService>;

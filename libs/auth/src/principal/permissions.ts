import { AppError } from '@mailwarden/core';
import type { ApiKeyScope, Role } from '../db-types.ts';
import type { Principal } from './principal.ts';

/**
 * What each role and each API key scope may do. docs/permissions.md is this table in prose; a
 * test keeps the two in step.
 *
 * A role grants scopes (owner and admin: read, write, admin; member: read, write; viewer: read).
 * A permission needs one scope; some also need a person (`sessionOnly`: an API key cannot mint
 * API keys or invite people, so a leaked key cannot entrench itself) or the owner role.
 */
export const scopesOfRole: Record<Role, ApiKeyScope[]> = {
  owner: ['read', 'write', 'admin'],
  admin: ['read', 'write', 'admin'],
  member: ['read', 'write'],
  viewer: ['read'],
};

export interface PermissionRule {
  scope: ApiKeyScope;
  sessionOnly?: boolean;
  ownerOnly?: boolean;
  description: string;
}

export const permissionTable = {
  'tenant.read': { scope: 'read', description: 'read the tenant, its security and monitoring settings' },
  'tenant.settings.update': {
    scope: 'admin',
    description:
      'change 2FA requirement, password policy, alert threshold, retention and the failure-report opt-in',
  },
  'members.read': { scope: 'read', description: 'list members and their roles' },
  'members.update': { scope: 'admin', description: 'change the role of an admin, member or viewer' },
  'members.remove': {
    scope: 'admin',
    description: 'remove an admin, member or viewer (ends their sessions)',
  },
  'members.manage_owners': {
    scope: 'admin',
    ownerOnly: true,
    description: 'grant, revoke or remove the owner role',
  },
  'invitations.manage': {
    scope: 'admin',
    sessionOnly: true,
    description: 'invite people, list and revoke invitations',
  },
  'api_keys.read': { scope: 'admin', description: 'list API keys (prefixes only, never secrets)' },
  'api_keys.manage': { scope: 'admin', sessionOnly: true, description: 'create, rename and revoke API keys' },
  'audit.read': { scope: 'admin', description: 'read the audit log' },
  'account.self': { scope: 'read', sessionOnly: true, description: 'own sessions, password and 2FA' },
  'domains.read': {
    scope: 'read',
    description: 'read domains, findings, runs, posture history, events, maintenance windows and reports',
  },
  'domains.write': {
    scope: 'write',
    description: 'add, change, verify, scan now and remove domains; upload reports',
  },
  'findings.manage': { scope: 'write', description: 'mute and acknowledge findings' },
  'maintenance.manage': { scope: 'write', description: 'create and delete maintenance windows' },
  'webhooks.read': {
    scope: 'read',
    description: 'list alert endpoints (targets shown as scheme and host) and deliveries',
  },
  // Admin: an endpoint receives every event of the tenant; adding one is a way to read them all.
  'webhooks.manage': {
    scope: 'admin',
    description: 'add, change, test and remove alert endpoints; rotate secrets; redeliver',
  },
  // Admin: a mailbox's credentials reach the tenant's mail; Mailwarden moves or flags its messages.
  'report_mailboxes.manage': {
    scope: 'admin',
    description: 'add, change, poll now and remove the IMAP mailboxes reports are read from',
  },
  'tenant.export': { scope: 'admin', description: 'export all data of the tenant (GDPR)' },
  'tenant.delete': {
    scope: 'admin',
    ownerOnly: true,
    sessionOnly: true,
    description: 'delete the tenant and all its data (GDPR)',
  },
} as const satisfies Record<string, PermissionRule>;

export type Permission = keyof typeof permissionTable;

export function can(principal: Principal, permission: Permission): boolean {
  const rule: PermissionRule = permissionTable[permission];
  if (!principal.scopes.includes(rule.scope)) return false;
  if (rule.sessionOnly && principal.actorType !== 'user') return false;
  if (rule.ownerOnly && principal.role !== 'owner') return false;
  return true;
}

export function assertCan(principal: Principal, permission: Permission): void {
  if (!can(principal, permission)) {
    throw new AppError('forbidden', { detail: `this needs the ${permission} permission` });
  }
}

/** Scopes nest: `admin` includes `write`, which includes `read`. */
export function expandScopes(scopes: readonly ApiKeyScope[]): ApiKeyScope[] {
  if (scopes.includes('admin')) return ['read', 'write', 'admin'];
  if (scopes.includes('write')) return ['read', 'write'];
  return scopes.includes('read') ? ['read'] : [];
}

/** The role an API key acts with, for the parts of the code that reason in roles. */
export function roleOfScopes(scopes: readonly ApiKeyScope[]): Role {
  if (scopes.includes('admin')) return 'admin';
  if (scopes.includes('write')) return 'member';
  return 'viewer';
}

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { can, expandScopes, permissionTable, scopesOfRole } from './permissions.ts';
import type { Principal } from './principal.ts';

const roles = ['owner', 'admin', 'member', 'viewer'] as const;
const user = (role: (typeof roles)[number]): Principal => ({
  tenantId: 't',
  actorId: 'usr_x',
  actorType: 'user',
  role,
  scopes: scopesOfRole[role],
  userId: 'u',
  sessionId: 's',
  apiKeyId: null,
  mfaVerified: true,
  restriction: null,
});
const key = (scope: 'read' | 'write' | 'admin'): Principal => ({
  ...user(scope === 'admin' ? 'admin' : scope === 'write' ? 'member' : 'viewer'),
  actorType: 'api_key',
  actorId: 'key_x',
  userId: null,
  sessionId: null,
  apiKeyId: 'k',
  scopes: expandScopes([scope]),
});

describe('docs/permissions.md', () => {
  it('should state exactly what the permission table in code allows', () => {
    const doc = readFileSync(new URL('../../../../docs/permissions.md', import.meta.url), 'utf8');
    const rows = new Map(
      doc
        .split('\n')
        .filter((line) => line.startsWith('| `'))
        .map((line) => line.split('|').map((cell) => cell.trim()))
        .map((cells) => [cells[1]!.replaceAll('`', ''), cells.slice(2, 7)] as const),
    );
    expect([...rows.keys()].sort()).toEqual(Object.keys(permissionTable).sort());
    for (const [permission, cells] of rows) {
      const p = permission as keyof typeof permissionTable;
      expect(cells.slice(0, 4), permission).toEqual(roles.map((role) => (can(user(role), p) ? '✓' : '—')));
      const minimal = (['read', 'write', 'admin'] as const).find((scope) => can(key(scope), p));
      expect(cells[4], permission).toBe(minimal ? `\`${minimal}\`` : 'never');
    }
  });

  it('should nest scopes and keep API keys below the owner', () => {
    expect(expandScopes(['admin'])).toEqual(['read', 'write', 'admin']);
    expect(expandScopes(['write'])).toEqual(['read', 'write']);
    expect(can(key('admin'), 'members.manage_owners')).toBe(false);
    expect(can(key('admin'), 'api_keys.manage')).toBe(false);
    expect(can(key('read'), 'domains.write')).toBe(false);
  });
});

/** GDPR export and deletion of a whole tenant over REST. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, bearer, expectProblem, signIn, signUp, uniqueEmail } from './auth-helpers.ts';
import {
  addDomain,
  type MonitoringTestbed,
  runDnsFamily,
  serveDomain,
  startMonitoringTestbed,
  uniqueApex,
} from './monitoring-helpers.ts';

let bed: MonitoringTestbed;
beforeAll(async () => {
  bed = await startMonitoringTestbed();
});
afterAll(() => bed.close());

const call = (method: 'GET' | 'DELETE' | 'POST', url: string, token: string, payload?: object) =>
  bed.t.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });

describe('tenant export', () => {
  it('should export every section without secrets, and audit it', async () => {
    const owner = await signUp(bed.t, { tenantName: 'Export Co' });
    const apex = uniqueApex('export');
    serveDomain(bed.dns, apex);
    const domain = await addDomain(bed.t, owner.accessToken, apex);
    await runDnsFamily(bed, owner.tenantId, domain.id);
    const key = (
      await call('POST', '/v1/api-keys', owner.accessToken, { name: 'k', scopes: ['admin'] })
    ).json();

    const res = await call('GET', '/v1/tenant/export', owner.accessToken);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-disposition']).toContain('attachment');
    const doc = res.json();
    expect(doc).toMatchObject({
      format: 'mailwarden-tenant-export/1',
      tenant: { id: owner.tenantId, name: 'Export Co' },
    });
    expect(doc.domains.map((d: { id: string }) => d.id)).toEqual([domain.id]);
    expect(doc.findings.rows.length).toBeGreaterThan(0);
    expect(doc.runs.rows).toHaveLength(1);
    expect(doc.events.rows.length).toBeGreaterThan(0);
    expect(doc.apiKeys[0]).toMatchObject({ id: key.apiKey.id, prefix: key.apiKey.prefix });
    expect(res.body).not.toContain(key.key);
    expect(res.body).not.toMatch(/hash|secret_sealed|verification_token/i);

    const audit = (await call('GET', '/v1/audit-events', owner.accessToken)).json().items;
    expect(audit[0]).toMatchObject({
      action: 'tenant.exported',
      target: { type: 'tenant', id: owner.tenantId },
    });

    // Members and read keys may not export; an admin key may.
    const memberEmail = uniqueEmail('member');
    const { password } = await addMember(bed.t, owner, memberEmail, 'member');
    const member = await signIn(bed.t, memberEmail, password);
    expectProblem(await call('GET', '/v1/tenant/export', member.accessToken), 403, 'forbidden');
    expect((await call('GET', '/v1/tenant/export', key.key)).statusCode).toBe(200);
  });
});

describe('tenant deletion', () => {
  it('should need the owner, a session and the exact name, then remove everything', async () => {
    const owner = await signUp(bed.t, { tenantName: 'Doomed Ltd' });
    const domain = await addDomain(bed.t, owner.accessToken, uniqueApex('doomed'));
    const adminEmail = uniqueEmail('admin');
    const { password } = await addMember(bed.t, owner, adminEmail, 'admin');
    const admin = await signIn(bed.t, adminEmail, password);
    const key = (
      await call('POST', '/v1/api-keys', owner.accessToken, { name: 'k', scopes: ['admin'] })
    ).json().key;

    expectProblem(
      await call('DELETE', '/v1/tenant', admin.accessToken, { confirm: 'Doomed Ltd' }),
      403,
      'forbidden',
    );
    expectProblem(await call('DELETE', '/v1/tenant', key, { confirm: 'Doomed Ltd' }), 401, 'unauthenticated');
    const wrong = expectProblem(
      await call('DELETE', '/v1/tenant', owner.accessToken, { confirm: 'doomed ltd' }),
      400,
      'validation_failed',
    );
    expect(JSON.stringify(wrong.errors)).toContain('body.confirm');
    expectProblem(await call('DELETE', '/v1/tenant', owner.accessToken, {}), 400, 'validation_failed');
    expect((await call('GET', `/v1/domains/${domain.id}`, owner.accessToken)).statusCode).toBe(200);

    const res = await call('DELETE', '/v1/tenant', owner.accessToken, { confirm: 'Doomed Ltd' });
    expect(res.statusCode, res.body).toBe(204);
    // Its rows are gone: a fresh sign-in finds no such tenant, the key no longer works.
    expect((await call('GET', '/v1/domains', key)).statusCode).toBe(401);
    const login = await bed.t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: owner.email, password: owner.password },
    });
    expect(login.statusCode).not.toBe(200);
  });
});

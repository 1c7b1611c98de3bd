/**
 * The tenant's monitoring settings and the failure reports stored under its opt-in, through the
 * real app: defaults, a change with its audit entry, refusals with stable codes, who may do what,
 * and an ARF mail uploaded, parsed by the worker's ingest (run here directly), listed redacted and
 * kept from other tenants.
 */
import { readFileSync } from 'node:fs';
import { decodeId, encodeId, systemClock, uuidv7 } from '@mailwarden/core';
import { schema, withTenant } from '@mailwarden/db';
import { ingestRawReport } from '@mailwarden/monitoring';
import { corpusPath } from '@mailwarden/testing/corpus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  bearer,
  expectProblem,
  gql,
  type SignedUp,
  signIn,
  signUp,
  uniqueEmail,
} from './auth-helpers.ts';
import { buildTestApp, type TestApp } from './helper.ts';

let t: TestApp;
let owner: SignedUp;

beforeAll(async () => {
  t = await buildTestApp();
  owner = await signUp(t);
});

afterAll(async () => {
  await t?.close();
});

const settingsUrl = '/v1/tenant/monitoring-settings';

function patch(token: string, payload: object) {
  return t.app.inject({ method: 'PATCH', url: settingsUrl, headers: bearer(token), payload });
}

async function watch(typedTenantId: string, name: string): Promise<string> {
  const tenantId = decodeId('ten', typedTenantId)!;
  const id = uuidv7();
  await withTenant(t.container.db, tenantId, (tx) =>
    tx.insert(schema.domains).values({ id, tenantId, name, verificationToken: `t${id.slice(0, 8)}` }),
  );
  return encodeId('dom', id);
}

describe('monitoring settings', () => {
  it('should show the defaults, change what is sent and audit the change', async () => {
    const tenant = await signUp(t);
    const before = await t.app.inject({ url: settingsUrl, headers: bearer(tenant.accessToken) });
    expect(before.statusCode, before.body).toBe(200);
    expect(before.json()).toEqual({
      alertThreshold: 'medium',
      retentionDays: 365,
      maxDomains: 500,
      failureReports: { store: false, retentionDays: 30 },
    });
    const res = await patch(tenant.accessToken, {
      alertThreshold: 'high',
      failureReports: { store: true, retentionDays: 14 },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      alertThreshold: 'high',
      retentionDays: 365,
      maxDomains: 500,
      failureReports: { store: true, retentionDays: 14 },
    });
    const audit = await t.app.inject({
      url: '/v1/audit-events?limit=5',
      headers: bearer(tenant.accessToken),
    });
    const entry = audit
      .json()
      .items.find((e: { action: string }) => e.action === 'tenant.monitoring_settings_updated');
    expect(entry?.details).toMatchObject({
      before: { alertThreshold: 'medium' },
      after: { alertThreshold: 'high', failureReports: { store: true, retentionDays: 14 } },
    });
  });

  it('should refuse out-of-range values, unknown fields and the read-only quota with validation_failed', async () => {
    for (const payload of [
      { retentionDays: 3 },
      { retentionDays: 4000 },
      { failureReports: { retentionDays: 0 } },
      { failureReports: { retentionDays: 120 } },
      { alertThreshold: 'severe' },
      { maxDomains: 10_000 },
      { failureReports: { store: 'yes' } },
    ]) {
      expectProblem(await patch(owner.accessToken, payload), 400, 'validation_failed');
    }
  });

  it('should let a viewer read the settings but not change them', async () => {
    const admin = await signUp(t);
    const email = uniqueEmail('viewer');
    const { password } = await addMember(t, admin, email, 'viewer');
    const viewer = await signIn(t, email, password, admin.tenantId);
    const read = await t.app.inject({ url: settingsUrl, headers: bearer(viewer.accessToken) });
    expect(read.statusCode, read.body).toBe(200);
    expectProblem(await patch(viewer.accessToken, { alertThreshold: 'low' }), 403, 'forbidden');
  });
});

describe('monitoring settings over GraphQL', () => {
  const query =
    '{ monitoringSettings { alertThreshold retentionDays maxDomains failureReports { store retentionDays } } }';
  const mutation =
    'mutation ($i: MonitoringSettingsInput!) { updateMonitoringSettings(input: $i) { alertThreshold retentionDays failureReports { store retentionDays } } }';
  const codes = (body: { errors?: Array<{ extensions: { code: string } }> }) =>
    (body.errors ?? []).map((e) => e.extensions.code);

  it('should read and change the same settings as REST, with the same codes', async () => {
    const tenant = await signUp(t);
    const read = await gql(t, query, { token: tenant.accessToken });
    expect(read.body.data.monitoringSettings).toEqual({
      alertThreshold: 'medium',
      retentionDays: 365,
      maxDomains: 500,
      failureReports: { store: false, retentionDays: 30 },
    });
    const changed = await gql(t, mutation, {
      token: tenant.accessToken,
      variables: { i: { retentionDays: 90, failureReports: { store: true, retentionDays: null } } },
    });
    expect(changed.body.data.updateMonitoringSettings).toEqual({
      alertThreshold: 'medium',
      retentionDays: 90,
      failureReports: { store: true, retentionDays: 30 },
    });
    const rest = await t.app.inject({ url: settingsUrl, headers: bearer(tenant.accessToken) });
    expect(rest.json()).toMatchObject({ retentionDays: 90, failureReports: { store: true } });
    const bad = await gql(t, mutation, { token: tenant.accessToken, variables: { i: { retentionDays: 2 } } });
    expect(codes(bad.body)).toEqual(['validation_failed']);

    const email = uniqueEmail('viewer');
    const { password } = await addMember(t, tenant, email, 'viewer');
    const viewer = await signIn(t, email, password, tenant.tenantId);
    expect(
      (await gql(t, query, { token: viewer.accessToken })).body.data.monitoringSettings.retentionDays,
    ).toBe(90);
    const refused = await gql(t, mutation, {
      token: viewer.accessToken,
      variables: { i: { retentionDays: 30 } },
    });
    expect(codes(refused.body)).toEqual(['forbidden']);
  });
});

describe('failure reports', () => {
  it('should store an uploaded ARF mail only after the opt-in, list it redacted, and keep it from other tenants', async () => {
    const tenant = await signUp(t);
    const domainId = await watch(tenant.tenantId, 'example.com');
    const arf = readFileSync(corpusPath('forensic', 'parsedmarc', 'dmarc_ruf_report_linkedin.eml'));
    const ingest = async (bytes: Buffer) => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/reports',
        headers: { ...bearer(tenant.accessToken), 'content-type': 'message/rfc822' },
        payload: bytes,
      });
      expect(res.statusCode, res.body).toBe(202);
      const rawId = decodeId('rpt', res.json().id)!;
      return ingestRawReport(
        { db: t.container.db, clock: systemClock },
        decodeId('ten', tenant.tenantId)!,
        rawId,
      );
    };

    expect((await ingest(arf)).failureReportsSkipped).toBe(1);
    const empty = await t.app.inject({ url: '/v1/reports/failures', headers: bearer(tenant.accessToken) });
    expect(empty.json()).toEqual({ items: [], nextCursor: null });

    expect((await patch(tenant.accessToken, { failureReports: { store: true } })).statusCode).toBe(200);
    expect((await ingest(Buffer.concat([arf, Buffer.from('\r\n')]))).failureReports).toBe(1);
    const list = await t.app.inject({
      url: `/v1/reports/failures?domainId=${domainId}`,
      headers: bearer(tenant.accessToken),
    });
    expect(list.statusCode, list.body).toBe(200);
    const [item] = list.json().items;
    expect(item).toMatchObject({ domainId, reportedDomain: 'example.com', sourceIp: '10.10.10.10' });
    expect(JSON.stringify(item)).not.toMatch(/[a-z0-9._%+-]+@[a-z0-9-]+\.[a-z]/i);
    const one = await t.app.inject({
      url: `/v1/reports/failures/${item.id}`,
      headers: bearer(tenant.accessToken),
    });
    expect(one.json()).toEqual(item);

    const other = await signUp(t);
    expectProblem(
      await t.app.inject({ url: `/v1/reports/failures/${item.id}`, headers: bearer(other.accessToken) }),
      404,
      'not_found',
    );
    expectProblem(
      await t.app.inject({
        url: `/v1/reports/failures?domainId=${domainId}`,
        headers: bearer(other.accessToken),
      }),
      404,
      'not_found',
    );
    expectProblem(
      await t.app.inject({ url: '/v1/reports/failures?cursor=rpt_zz', headers: bearer(tenant.accessToken) }),
      400,
      'validation_failed',
    );
    expectProblem(
      await t.app.inject({ url: '/v1/reports/failures/dom_01jd9', headers: bearer(tenant.accessToken) }),
      404,
      'not_found',
    );

    // The GDPR export carries them, and everything else received.
    const exported = await t.app.inject({ url: '/v1/tenant/export', headers: bearer(tenant.accessToken) });
    expect(exported.statusCode, exported.body).toBe(200);
    const reports = exported.json().reports;
    expect(reports.failure.rows).toHaveLength(1);
    expect(reports.received.rows.map((r: { receivedVia: string }) => r.receivedVia)).toEqual([
      'upload',
      'upload',
    ]);
    expect(JSON.stringify(reports.received)).not.toContain('bytes');

    // Opting out deletes them at once.
    await patch(tenant.accessToken, { failureReports: { store: false } });
    const gone = await t.app.inject({ url: '/v1/reports/failures', headers: bearer(tenant.accessToken) });
    expect(gone.json().items).toEqual([]);
  });
});

/**
 * Failure (ARF) reports against the run's real Postgres, as the app role under RLS: stored only on
 * the tenant's opt-in and only about a watched domain, redacted, read back through the service,
 * deleted when the tenant opts out, and purged (with the raw input that carried them) after the
 * short failure-report retention by the same definer function as the rest of the history.
 */
import { encodeId } from '@mailwarden/core';
import { schema, withTenant } from '@mailwarden/db';
import { createTestTenant } from '@mailwarden/testing/db';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createMonitoringSettingsService } from '../monitoring-settings.service.ts';
import { createFailureReportsService } from './failure-reports.ts';
import { ingestRawReport } from './ingest.ts';
import { storeRawReport } from './raw-reports.ts';
import { corpus, db, deps, generatedReport, intake, watch } from './reports.test-helper.ts';

/** parsedmarc's LinkedIn sample: Reported-Domain example.com, Source-IP 10.10.10.10. */
const linkedin = () => corpus('forensic', 'parsedmarc', 'dmarc_ruf_report_linkedin.eml');

async function optIn(tenantId: string, store: boolean, retentionDays?: number) {
  return createMonitoringSettingsService({ db }).update(tenantId, {
    failureReports: { store, ...(retentionDays ? { retentionDays } : {}) },
  });
}

async function stored(tenantId: string) {
  return withTenant(db, tenantId, async (tx) => ({
    failures: await tx.select().from(schema.failureReports),
    raw: await tx.select().from(schema.rawReports),
  }));
}

describe('failure reports', () => {
  it('should count and skip them without the opt-in, marking the raw input as holding one', async () => {
    const tenant = await createTestTenant(db);
    await watch(tenant.id, 'example.com');
    const { result } = await intake(tenant.id, linkedin());
    expect(result).toMatchObject({ state: 'parsed', failureReports: 0, failureReportsSkipped: 1 });
    const rows = await stored(tenant.id);
    expect(rows.failures).toHaveLength(0);
    expect(rows.raw[0]?.holdsFailureReports).toBe(true);
  });

  it('should store a redacted report about a watched domain once the tenant opts in', async () => {
    const tenant = await createTestTenant(db);
    const domainId = await watch(tenant.id, 'example.com');
    await optIn(tenant.id, true);
    const { stored: raw, result } = await intake(tenant.id, linkedin());
    expect(result).toMatchObject({ state: 'parsed', failureReports: 1, failureReportsSkipped: 0 });

    const service = createFailureReportsService({ db });
    const list = await service.list(tenant.id);
    expect(list.items).toHaveLength(1);
    const report = list.items[0]!;
    expect(report).toMatchObject({
      domainId: encodeId('dom', domainId),
      reportedDomain: 'example.com',
      feedbackType: 'auth-failure',
      sourceIp: '10.10.10.10',
      uploadId: encodeId('rpt', raw.id),
    });
    // Redacted: no local part of any address survives, in any field.
    const text = JSON.stringify(report);
    expect(text).not.toMatch(/[a-z0-9._%+-]+@[a-z0-9-]+\.[a-z]/i);
    expect(report.headers.find((h) => h.name === 'from')?.value).toContain('*@example.com');
    expect(await service.get(tenant.id, report.id)).toEqual(report);
    expect((await service.list(tenant.id, { domainId: encodeId('dom', domainId) })).items).toHaveLength(1);

    // The same input parsed again (a redone job on a re-sent copy) stores nothing new.
    const again = await storeRawReport(
      deps(),
      tenant.id,
      'upload',
      Buffer.concat([linkedin(), Buffer.from('\r\n')]),
    );
    const second = await ingestRawReport(deps(), tenant.id, again.id);
    expect(second.failureReports).toBe(1);
    expect((await stored(tenant.id)).failures).toHaveLength(2);
  });

  it('should not store a report about a domain the tenant does not watch', async () => {
    const tenant = await createTestTenant(db);
    await watch(tenant.id, 'other.example');
    await optIn(tenant.id, true);
    const { result } = await intake(tenant.id, linkedin());
    expect(result).toMatchObject({ failureReports: 0, failureReportsSkipped: 1 });
    expect((await stored(tenant.id)).failures).toHaveLength(0);
  });

  it('should keep one tenant’s failure reports from another', async () => {
    const a = await createTestTenant(db);
    const b = await createTestTenant(db);
    await watch(a.id, 'example.com');
    await optIn(a.id, true);
    await intake(a.id, linkedin());
    const [report] = (await createFailureReportsService({ db }).list(a.id)).items;
    await expect(createFailureReportsService({ db }).get(b.id, report!.id)).rejects.toMatchObject({
      code: 'not_found',
    });
    expect((await createFailureReportsService({ db }).list(b.id)).items).toEqual([]);
  });

  it('should page newest first and refuse a foreign cursor', async () => {
    const tenant = await createTestTenant(db);
    await watch(tenant.id, 'example.com');
    await optIn(tenant.id, true);
    for (let i = 0; i < 3; i++)
      await intake(tenant.id, Buffer.concat([linkedin(), Buffer.from(' '.repeat(i))]));
    const service = createFailureReportsService({ db });
    const first = await service.list(tenant.id, { limit: 2 });
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).not.toBeNull();
    const rest = await service.list(tenant.id, { limit: 2, cursor: first.nextCursor! });
    expect(rest.items).toHaveLength(1);
    expect(rest.nextCursor).toBeNull();
    const ids = [...first.items, ...rest.items].map((r) => r.id);
    expect([...ids].sort().reverse()).toEqual(ids);
    await expect(service.list(tenant.id, { cursor: 'dom_0000' })).rejects.toMatchObject({
      code: 'validation_failed',
    });
  });

  it('should delete the stored reports at once when the tenant opts out', async () => {
    const tenant = await createTestTenant(db);
    await watch(tenant.id, 'example.com');
    await optIn(tenant.id, true);
    await intake(tenant.id, linkedin());
    const change = await optIn(tenant.id, false);
    expect(change.failureReportsDeleted).toBe(1);
    expect(change.after.failureReports.store).toBe(false);
    expect((await stored(tenant.id)).failures).toHaveLength(0);
  });

  it('should refuse retention values out of range with validation_failed', async () => {
    const tenant = await createTestTenant(db);
    const settings = createMonitoringSettingsService({ db });
    await expect(settings.update(tenant.id, { failureReports: { retentionDays: 91 } })).rejects.toMatchObject(
      {
        code: 'validation_failed',
      },
    );
    await expect(settings.update(tenant.id, { retentionDays: 6 })).rejects.toMatchObject({
      code: 'validation_failed',
    });
    expect(await settings.get(tenant.id)).toEqual({
      alertThreshold: 'medium',
      retentionDays: 365,
      maxDomains: 500,
      failureReports: { store: false, retentionDays: 30 },
    });
  });

  it('should purge failure reports and the inputs that held them after the short retention', async () => {
    const tenant = await createTestTenant(db);
    await watch(tenant.id, 'example.com');
    await optIn(tenant.id, true, 7);
    await intake(tenant.id, linkedin());
    const aggregate = generatedReport({
      records: 3,
      domain: 'example.com',
      reportId: 'purge-1',
      begin: 1_764_201_600,
      end: 1_764_287_999,
    });
    await intake(tenant.id, Buffer.from(aggregate));
    // The purge sees every tenant of the shared test database: age this tenant's rows instead of
    // moving the clock, so other files' fresh rows are never old enough to go.
    const age = (days: number) =>
      withTenant(db, tenant.id, async (tx) => {
        const interval = sql`make_interval(days => ${days})`;
        await tx.execute(sql`update raw_reports set received_at = now() - ${interval}`);
      });
    const purge = () => db.execute(sql`select mailwarden_purge_history(now())`);

    await age(6);
    await purge();
    expect((await stored(tenant.id)).failures).toHaveLength(1);
    await age(8);
    await purge();
    const after = await stored(tenant.id);
    expect(after.failures).toHaveLength(0);
    // The ARF input went with its report; the aggregate input stays for the 365-day retention.
    expect(after.raw.map((r) => r.holdsFailureReports)).toEqual([false]);
    await age(366);
    await purge();
    expect((await stored(tenant.id)).raw).toHaveLength(0);
    const reports = await withTenant(db, tenant.id, (tx) => tx.select().from(schema.dmarcReports));
    expect(reports).toHaveLength(0);
  });
});

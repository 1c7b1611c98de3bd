import { encodeId } from '@mailwarden/core';
import { withTenant } from '@mailwarden/db';
import { createTestTenant } from '@mailwarden/testing/db';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { ingestRawReport } from './ingest.ts';
import { ensureReportAddress, tenantForReportAddress } from './raw-reports.ts';
import { createReportsService } from './reports.service.ts';

import {
  corpus,
  db,
  deps,
  generatedReport,
  intake,
  record,
  tenantRows,
  watch,
} from './reports.test-helper.ts';

describe('report analytics', () => {
  async function seeded() {
    const tenant = await createTestTenant(db);
    const domainId = await watch(tenant.id, 'shop.test');
    const rows = [
      record('192.0.2.1', 900, 'pass', 'pass'), // the tenant's own server
      record('192.0.2.2', 60, 'fail', 'fail', true), // an ESP signing with its own domain
      record('203.0.113.9', 40, 'fail', 'fail', false, 'reject'), // a forger
      record('192.0.2.1', 5, 'pass', 'fail'),
    ];
    const xml = generatedReport({
      records: rows.length,
      domain: 'shop.test',
      reportId: 'analytics-1',
      begin: 1795737600, // 2026-11-27
      end: 1795823999,
      row: (i) => rows[i]!,
    });
    await intake(tenant.id, Buffer.from(xml));
    const tls = JSON.parse(corpus('smtp-tls', 'parsedmarc', 'rfc8460.json').toString('utf8'));
    tls.policies[0].policy['policy-domain'] = 'shop.test';
    await intake(tenant.id, Buffer.from(JSON.stringify(tls)));
    return { tenant, dom: encodeId('dom', domainId) };
  }

  it('should summarise volume, pass rate, alignment, dispositions, sources, reporters and TLS failures', async () => {
    const { tenant, dom } = await seeded();
    const service = createReportsService(deps());
    const summary = await service.summary(tenant.id, dom, { from: '2026-11-01', to: '2026-11-28' });
    expect(summary.days).toEqual([
      {
        day: '2026-11-27',
        messages: 1005,
        dmarcPass: 905,
        dkimAligned: 905,
        spfAligned: 900,
        dispositions: { none: 965, quarantine: 0, reject: 40 },
      },
    ]);
    expect(summary.totals).toMatchObject({ messages: 1005, passRate: 0.9005 });
    expect(summary.topSources[0]).toEqual({ ip: '192.0.2.1', messages: 905, dmarcPass: 905, passRate: 1 });
    expect(summary.reporters).toEqual([{ orgName: 'google.com', reports: 1, messages: 1005 }]);
    // RFC 8460's example report dated 2016 is filed on its own day, outside this window.
    expect(summary.tls.failedSessions).toBe(0);
    const tls = await service.summary(tenant.id, dom, { from: '2016-04-01', to: '2016-04-01' });
    expect(tls.tls.failedSessions).toBe(303);
    expect(tls.tls.failures).toEqual([
      { resultType: 'starttls-not-supported', mx: 'mx2.mail.company-y.example', sessions: 200 },
      { resultType: 'certificate-expired', mx: 'mx1.mail.company-y.example', sessions: 100 },
      { resultType: 'validation-failure', mx: 'mx-backup.mail.company-y.example', sessions: 3 },
    ]);
    const list = await service.list(tenant.id);
    expect(list.items.map((i) => i.kind).sort()).toEqual(['aggregate', 'tls']);
  });

  it('should hold enforcement back while a legitimate-looking source fails alignment', async () => {
    const { tenant, dom } = await seeded();
    const advice = await createReportsService(deps()).enforcementAdvice(tenant.id, dom, {
      from: '2026-11-01',
      to: '2026-11-28',
    });
    expect(advice).toMatchObject({
      currentPolicy: 'none',
      recommendation: 'fix_sources_first',
      messages: 1005,
    });
    expect(advice.blockingSources).toEqual([
      expect.objectContaining({ ip: '192.0.2.2', failing: 60, kind: 'authenticated_unaligned' }),
    ]);
    expect(advice.unauthenticatedSources).toEqual([
      expect.objectContaining({ ip: '203.0.113.9', failing: 40, kind: 'unauthenticated' }),
    ]);
  });

  it('should advise the next policy step when only unauthenticated sources fail', async () => {
    const tenant = await createTestTenant(db);
    const domainId = await watch(tenant.id, 'shop.test');
    const rows = [record('192.0.2.1', 900, 'pass', 'pass'), record('203.0.113.9', 40, 'fail', 'fail')];
    const xml = generatedReport({
      records: 2,
      domain: 'shop.test',
      reportId: 'q-1',
      begin: 1795737600,
      end: 1795823999,
      p: 'quarantine',
      row: (i) => rows[i]!,
    });
    await intake(tenant.id, Buffer.from(xml));
    const advice = await createReportsService(deps()).enforcementAdvice(
      tenant.id,
      encodeId('dom', domainId),
      {
        from: '2026-11-27',
        to: '2026-11-27',
      },
    );
    expect(advice).toMatchObject({
      currentPolicy: 'quarantine',
      recommendation: 'move_to_reject',
      blockingSources: [],
    });
  });

  it("should show tenant B none of tenant A's reports", async () => {
    const { tenant, dom } = await seeded();
    const other = await createTestTenant(db);
    const service = createReportsService(deps());
    expect((await service.list(other.id)).items).toEqual([]);
    await expect(service.summary(other.id, dom)).rejects.toMatchObject({ code: 'not_found' });
    await expect(service.enforcementAdvice(other.id, dom)).rejects.toMatchObject({ code: 'not_found' });
    const raw = (await tenantRows(tenant.id)).raw[0]!;
    await expect(service.status(other.id, encodeId('rpt', raw.id))).rejects.toMatchObject({
      code: 'not_found',
    });
    expect(await service.status(tenant.id, encodeId('rpt', raw.id))).toMatchObject({ state: 'parsed' });
    // Under RLS the other tenant's transaction sees no row of any report table.
    const seen = await withTenant(db, other.id, (tx) =>
      tx.execute<{ n: string }>(
        sql`select (select count(*) from raw_reports) + (select count(*) from dmarc_reports) + (select count(*) from dmarc_report_rows) + (select count(*) from tls_reports) + (select count(*) from tls_report_policies) as n`,
      ),
    );
    expect(Number(seen.rows[0]!.n)).toBe(0);
    // Nor can it ingest A's raw report by id.
    expect(await ingestRawReport(deps(), other.id, raw.id)).toMatchObject({ state: 'missing' });
  });
});

describe('report addresses', () => {
  it('should give each tenant one random token that maps back to it, and nothing else', async () => {
    const a = await createTestTenant(db);
    const b = await createTestTenant(db);
    const tokenA = await ensureReportAddress(db, a.id);
    expect(tokenA).toMatch(/^[a-z0-9]{26}$/);
    expect(await ensureReportAddress(db, a.id)).toBe(tokenA);
    const tokenB = await ensureReportAddress(db, b.id);
    expect(tokenB).not.toBe(tokenA);
    expect(await tenantForReportAddress(db, tokenA.toUpperCase())).toBe(a.id);
    expect(await tenantForReportAddress(db, tokenB)).toBe(b.id);
    expect(await tenantForReportAddress(db, 'a'.repeat(26))).toBeUndefined();
    expect(await tenantForReportAddress(db, "x' or 1=1 --")).toBeUndefined();
  });
});

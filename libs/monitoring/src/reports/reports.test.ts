/**
 * Report storage against the run's real Postgres, as the app role under RLS: corpus reports from
 * raw bytes to report rows, deduplication (also concurrent), quarantine, daily buckets, a parse
 * cut short, parse failures, and what reports teach monitoring (analytics: reports-analytics.test.ts).
 * Expected values come from the files themselves (a regex over the XML), not from the parser.
 */
import { readdirSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { encodeId } from '@mailwarden/core';
import { schema, withTenant } from '@mailwarden/db';
import { corpusPath } from '@mailwarden/testing/corpus';
import { createTestTenant } from '@mailwarden/testing/db';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { ingestRawReport, maxParseAttempts } from './ingest.ts';
import { pendingRawReports, storeRawReport } from './raw-reports.ts';
import { createReportsService } from './reports.service.ts';

import {
  clock,
  corpus,
  db,
  deps,
  generatedReport,
  intake,
  rawCounts,
  record,
  tenantRows,
  watch,
} from './reports.test-helper.ts';

describe('report ingestion', () => {
  it('should store corpus reports with the record and message counts of their XML', async () => {
    const tenant = await createTestTenant(db);
    await watch(tenant.id, 'example.com');
    await watch(tenant.id, 'a-domain.localhost');
    const files = [
      [
        'dmarc-aggregate',
        'parsedmarc',
        'aggregate',
        'addisonfoods.com!example.com!1536105600!1536191999.xml',
      ],
      [
        'dmarc-aggregate',
        'parsedmarc',
        'aggregate',
        'protection.outlook.com!example.com!1711756800!1711843200.xml',
      ],
      [
        'dmarc-aggregate',
        'samuelba-dmarc-report-visualizer',
        'google.com!example.com!1701129600!1701215999.xml',
      ],
      ['dmarc-aggregate', 'avvertix-dmarc-report-parser', 'dmarc.xml'],
      ['dmarc-aggregate', 'parsedmarc', 'aggregate', '!large-example.com!1711897200!1711983600.xml'],
    ];
    let expectedRecords = 0;
    let expectedMessages = 0;
    for (const parts of files) {
      const bytes = corpus(...parts);
      const counts = rawCounts(bytes.toString('utf8'));
      const { result } = await intake(tenant.id, bytes);
      expect(result, parts.at(-1)).toMatchObject({ state: 'parsed', aggregateReports: 1, duplicates: 0 });
      expectedRecords += counts.records;
      expectedMessages += counts.messages;
    }
    const state = await tenantRows(tenant.id);
    expect(state.raw.map((r) => r.parseState)).toEqual(files.map(() => 'parsed'));
    expect(state.raw.map((r) => r.receivedVia)).toEqual(files.map(() => 'upload'));
    expect(state.reports).toHaveLength(files.length);
    expect(state.reports.every((r) => !r.quarantined && r.domainId !== null)).toBe(true);
    expect(state.reports.reduce((n, r) => n + r.recordCount, 0)).toBe(expectedRecords);
    expect(state.reports.reduce((n, r) => n + r.messageCount, 0)).toBe(expectedMessages);
    // Each of these spans one day, so every record is one row and the counts add up exactly.
    expect(Number(state.rows.rows[0]!.n)).toBe(expectedRecords);
    expect(Number(state.rows.rows[0]!.messages)).toBe(expectedMessages);
    const large = state.reports.find((r) => r.recordCount === 2286);
    expect(large).toMatchObject({ orgName: expect.any(String), policyDomain: 'example.com' });
  });

  it('should read gzip, zip and mail containers and TLS reports', async () => {
    const tenant = await createTestTenant(db);
    for (const name of ['indemed.com', 'disicious.com', 'ueber.net', 'company-y.example', 'test.xmox.nl'])
      await watch(tenant.id, name);
    const gzBytes = corpus(
      'dmarc-aggregate',
      'parsedmarc',
      'aggregate',
      'fastmail.com!example.com!1516060800!1516147199!102675056.xml.gz',
    );
    const gz = await intake(tenant.id, gzBytes);
    expect(gz.result).toMatchObject({
      state: 'parsed',
      aggregateReports: 1,
      rows: rawCounts(gunzipSync(gzBytes).toString()).records,
    });
    const zip = await intake(
      tenant.id,
      corpus('dmarc-aggregate', 'mozaicworks-dmarcreporting', 'report.xml.zip'),
    );
    expect(zip.result).toMatchObject({ state: 'parsed', aggregateReports: 1, rows: 7 });
    const eml = await intake(tenant.id, corpus('dmarc-aggregate', 'mjl-mox', 'google.eml'));
    expect(eml.result).toMatchObject({ state: 'parsed', aggregateReports: 1, rows: 2 });
    const tls = await intake(tenant.id, corpus('smtp-tls', 'parsedmarc', 'rfc8460.json'));
    expect(tls.result).toMatchObject({ state: 'parsed', tlsReports: 1, quarantined: 0 });
    const tlsMail = await intake(tenant.id, corpus('smtp-tls', 'mjl-mox', 'example.eml'));
    expect(tlsMail.result).toMatchObject({ state: 'parsed', tlsReports: 1, quarantined: 0 });
    const state = await tenantRows(tenant.id);
    expect(state.reports.map((r) => [r.policyDomain, r.recordCount, r.messageCount]).sort()).toEqual([
      ['disicious.com', 7, 220],
      [
        'indemed.com',
        rawCounts(gunzipSync(gzBytes).toString()).records,
        rawCounts(gunzipSync(gzBytes).toString()).messages,
      ],
      ['ueber.net', 2, 5],
    ]);
    expect(state.tls).toHaveLength(2);
    expect(state.tls.find((t) => t.orgName === 'Company-X')).toMatchObject({
      successfulSessions: 5326,
      failedSessions: 303,
    });
    // Failed sessions to a watched domain's MX raise tls_rpt.failures, grouped by result type.
    const failures = await withTenant(db, tenant.id, (tx) =>
      tx.select().from(schema.monitoringEvents).where(eq(schema.monitoringEvents.type, 'tls_rpt.failures')),
    );
    const companyX = failures.find((e) => (e.payload as { summary: string }).summary.includes('Company-X'));
    expect(companyX?.payload).toMatchObject({
      severity: 'medium',
      details: { failedSessions: 303, successfulSessions: 5326 },
    });
    expect(tls.result.eventIds).toContain(companyX!.id);
  });

  it('should store the same bytes once and the same report in other bytes once', async () => {
    const tenant = await createTestTenant(db);
    await watch(tenant.id, 'a-domain.localhost');
    const xml = corpus('dmarc-aggregate', 'avvertix-dmarc-report-parser', 'dmarc.xml');
    const first = await intake(tenant.id, xml);
    const again = await storeRawReport(deps(), tenant.id, 'smtp', xml);
    expect(again).toEqual({ id: first.stored.id, duplicate: true, state: 'parsed' });
    // The same report gzipped and zipped: new raw reports, no new report.
    for (const name of ['dmarc.xml.gz', 'dmarc.zip']) {
      const { result } = await intake(
        tenant.id,
        corpus('dmarc-aggregate', 'avvertix-dmarc-report-parser', name),
      );
      expect(result).toMatchObject({ state: 'duplicate', aggregateReports: 0, duplicates: 1, rows: 0 });
    }
    const state = await tenantRows(tenant.id);
    expect(state.raw.map((r) => r.parseState).sort()).toEqual(['duplicate', 'duplicate', 'parsed']);
    expect(state.reports).toHaveLength(1);
    expect(Number(state.rows.rows[0]!.n)).toBe(rawCounts(xml.toString()).records);
  });

  it('should store a report sent twice at the same moment once', async () => {
    const tenant = await createTestTenant(db);
    await watch(tenant.id, 'example.com');
    const xml = generatedReport({
      records: 1500,
      domain: 'example.com',
      reportId: 'concurrent-1',
      begin: 1795737600,
      end: 1795823999,
    });
    // Three different byte strings of one report, and the same bytes stored concurrently too.
    const variants = [Buffer.from(xml), gzipSync(xml), Buffer.from(`${xml}\n`)];
    const stored = await Promise.all(
      [...variants, variants[0]!].map((b) => storeRawReport(deps(), tenant.id, 'smtp', b)),
    );
    expect(new Set(stored.map((s) => s.id)).size).toBe(3);
    const results = await Promise.all(stored.map((s) => ingestRawReport(deps(), tenant.id, s.id)));
    expect(results.filter((r) => r.aggregateReports === 1)).toHaveLength(1);
    const state = await tenantRows(tenant.id);
    expect(state.reports).toHaveLength(1);
    expect(state.raw.map((r) => r.parseState).sort()).toEqual(['duplicate', 'duplicate', 'parsed']);
    expect(Number(state.rows.rows[0]!.n)).toBe(1500);
    expect(Number(state.rows.rows[0]!.messages)).toBe(rawCounts(xml).messages);
  });

  it('should quarantine a report about a domain the tenant does not watch, and not show it', async () => {
    const tenant = await createTestTenant(db);
    const domainId = await watch(tenant.id, 'mine.test');
    const { result } = await intake(
      tenant.id,
      corpus('dmarc-aggregate', 'parsedmarc', 'aggregate', 'veeam.com!example.com!1530133200!1530219600.xml'),
    );
    expect(result).toMatchObject({ state: 'quarantined', quarantined: 1 });
    const state = await tenantRows(tenant.id);
    expect(state.reports).toMatchObject([{ quarantined: true, domainId: null, policyDomain: 'example.com' }]);
    const service = createReportsService(deps());
    expect((await service.list(tenant.id)).items).toEqual([]);
    const summary = await service.summary(tenant.id, encodeId('dom', domainId), {
      from: '2018-06-01',
      to: '2018-07-30',
    });
    expect(summary.totals.messages).toBe(0);
  });

  it('should file a report about a subdomain under the watched parent', async () => {
    const tenant = await createTestTenant(db);
    const parent = await watch(tenant.id, 'parent.test');
    const xml = generatedReport({
      records: 3,
      domain: 'mail.parent.test',
      reportId: 'sub-1',
      begin: 1795737600,
      end: 1795823999,
    });
    const { result } = await intake(tenant.id, Buffer.from(xml));
    expect(result.state).toBe('parsed');
    expect((await tenantRows(tenant.id)).reports[0]?.domainId).toBe(parent);
  });

  it('should teach monitoring the DKIM selectors and real senders a report shows', async () => {
    const tenant = await createTestTenant(db);
    const domainId = await watch(tenant.id, 'learn.test');
    await withTenant(db, tenant.id, (tx) =>
      tx
        .update(schema.domains)
        .set({ dkimSelectors: ['mw1'] })
        .where(eq(schema.domains.id, domainId)),
    );
    const rows = [
      // Aligned pass, signed by the domain's own selector: a real sender.
      `<record><row><source_ip>192.0.2.10</source_ip><count>50</count><policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row><identifiers><header_from>learn.test</header_from></identifiers><auth_results><dkim><domain>learn.test</domain><selector>Google</selector><result>pass</result></dkim><spf><domain>learn.test</domain><result>pass</result></spf></auth_results></record>`,
      // A forger: fails, and signs with a third party's selector, which is not ours to watch.
      `<record><row><source_ip>203.0.113.66</source_ip><count>9</count><policy_evaluated><disposition>none</disposition><dkim>fail</dkim><spf>fail</spf></policy_evaluated></row><identifiers><header_from>learn.test</header_from></identifiers><auth_results><dkim><domain>evil.example</domain><selector>x1</selector><result>pass</result></dkim></auth_results></record>`,
    ];
    const xml = generatedReport({
      records: 2,
      domain: 'learn.test',
      reportId: 'learn-1',
      begin: 1764201600,
      end: 1764287999,
      row: (i) => rows[i]!,
    });
    await intake(tenant.id, Buffer.from(xml));
    const [domain] = await withTenant(db, tenant.id, (tx) =>
      tx.select().from(schema.domains).where(eq(schema.domains.id, domainId)),
    );
    expect(domain!.dkimSelectors.sort()).toEqual(['google', 'mw1']);
    expect(domain!.sendingIps).toEqual(['192.0.2.10']);
  });

  it('should raise dmarc.unknown_source for a new failing source above the threshold, once', async () => {
    const tenant = await createTestTenant(db);
    await watch(tenant.id, 'spoofed.test');
    const failing = (ip: string, count: number) =>
      `<record><row><source_ip>${ip}</source_ip><count>${count}</count><policy_evaluated><disposition>none</disposition><dkim>fail</dkim><spf>fail</spf></policy_evaluated></row><identifiers><header_from>spoofed.test</header_from></identifiers><auth_results><spf><domain>forged.example</domain><result>fail</result></spf></auth_results></record>`;
    const day = 1764201600;
    const first = [failing('203.0.113.7', 1204), failing('203.0.113.8', 3)];
    await intake(
      tenant.id,
      Buffer.from(
        generatedReport({
          records: 2,
          domain: 'spoofed.test',
          reportId: 'u-1',
          begin: day,
          end: day + 86_399,
          row: (i) => first[i]!,
        }),
      ),
    );
    const events = () =>
      withTenant(db, tenant.id, (tx) =>
        tx
          .select()
          .from(schema.monitoringEvents)
          .where(eq(schema.monitoringEvents.type, 'dmarc.unknown_source')),
      );
    const raised = await events();
    expect(raised).toHaveLength(1);
    // Below the threshold (3 messages) is not named; the heavy new source is.
    expect(raised[0]!.payload).toMatchObject({
      severity: 'high',
      report: { reporter: 'google.com', reportId: 'u-1' },
      details: { sources: [{ ip: '203.0.113.7', messages: 1204 }] },
    });
    // The next day the same source is no longer new: no second event.
    const second = [failing('203.0.113.7', 900)];
    await intake(
      tenant.id,
      Buffer.from(
        generatedReport({
          records: 1,
          domain: 'spoofed.test',
          reportId: 'u-2',
          begin: day + 86_400,
          end: day + 172_799,
          row: (i) => second[i]!,
        }),
      ),
    );
    expect(await events()).toHaveLength(1);
  });

  it('should split a multi-day report into daily rows whose counts add up', async () => {
    const tenant = await createTestTenant(db);
    await watch(tenant.id, 'weekly.test');
    // 2026-11-20T00:00Z to 2026-11-23T00:00Z: three whole UTC days.
    const xml = generatedReport({
      records: 10,
      domain: 'weekly.test',
      reportId: 'week-1',
      begin: 1795132800,
      end: 1795392000,
      row: (i) => record(`198.51.100.${i + 1}`, 30 + i, 'pass', 'pass'),
    });
    await intake(tenant.id, Buffer.from(xml));
    const state = await tenantRows(tenant.id);
    expect(Number(state.rows.rows[0]!.days)).toBe(3);
    expect(Number(state.rows.rows[0]!.messages)).toBe(rawCounts(xml).messages);
  });

  it('should leave nothing behind when a parse is killed mid-way, and store it once on the retry', async () => {
    const tenant = await createTestTenant(db);
    await watch(tenant.id, 'example.com');
    const bytes = corpus(
      'dmarc-aggregate',
      'parsedmarc',
      'aggregate',
      '!large-example.com!1711897200!1711983600.xml',
    );
    const stored = await storeRawReport(deps(), tenant.id, 'upload', bytes);
    await expect(
      ingestRawReport(deps(), tenant.id, stored.id, {
        onBatch: () => {
          throw new Error('worker killed');
        },
      }),
    ).rejects.toThrow('worker killed');
    let state = await tenantRows(tenant.id);
    expect(state.reports).toEqual([]);
    expect(Number(state.rows.rows[0]!.n)).toBe(0);
    expect(state.raw[0]).toMatchObject({ parseState: 'pending', attempts: 1 });
    expect((await pendingRawReports(db, clock.now(), 10_000)).map((p) => p.rawReportId)).toContain(stored.id);

    const retry = await ingestRawReport(deps(), tenant.id, stored.id);
    expect(retry).toMatchObject({ state: 'parsed', rows: 2286 });
    // A job redone after success does nothing.
    expect(await ingestRawReport(deps(), tenant.id, stored.id)).toMatchObject({
      state: 'parsed',
      alreadyDone: true,
    });
    state = await tenantRows(tenant.id);
    expect(state.reports).toHaveLength(1);
    expect(Number(state.rows.rows[0]!.n)).toBe(2286);
  });

  it('should give up on a raw report that never finishes parsing', async () => {
    const tenant = await createTestTenant(db);
    const stored = await storeRawReport(deps(), tenant.id, 'smtp', Buffer.from('<feedback>'));
    await withTenant(db, tenant.id, (tx) =>
      tx
        .update(schema.rawReports)
        .set({ attempts: maxParseAttempts })
        .where(eq(schema.rawReports.id, stored.id)),
    );
    expect(await ingestRawReport(deps(), tenant.id, stored.id)).toMatchObject({
      state: 'failed',
      errorCode: 'report.ingest_aborted',
    });
  });

  it('should record a broken file as failed with its parse error code', async () => {
    const tenant = await createTestTenant(db);
    const { result } = await intake(
      tenant.id,
      corpus('dmarc-aggregate', 'parsedmarc', 'aggregate', 'invalid_xml.xml'),
    );
    expect(result).toMatchObject({ state: 'failed', errorCode: 'report.malformed_xml' });
    const doctype = await intake(
      tenant.id,
      Buffer.from('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><feedback/>'),
    );
    expect(doctype.result.errorCode).toBe('report.doctype_forbidden');
    const state = await tenantRows(tenant.id);
    expect(state.raw.map((r) => `${r.parseState} ${r.errorCode}`).sort()).toEqual([
      'failed report.doctype_forbidden',
      'failed report.malformed_xml',
    ]);
    expect(state.reports).toEqual([]);
  });

  it('should skip failure reports, which no tenant has opted in to yet', async () => {
    const tenant = await createTestTenant(db);
    const { result } = await intake(tenant.id, corpus('forensic', 'parsedmarc', readdirFirstEml()));
    expect(result.failureReportsSkipped).toBeGreaterThanOrEqual(1);
    expect(result.state).toBe('parsed');
  });
});

function readdirFirstEml(): string {
  const names = readdirSync(corpusPath('forensic', 'parsedmarc')).filter(
    (n) => n.endsWith('.eml') && !n.includes('no_arf'),
  );
  return names.sort()[0]!;
}

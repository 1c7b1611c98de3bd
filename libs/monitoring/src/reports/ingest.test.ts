/**
 * The COPY ingest path end to end, against the run's real Postgres as the app role under RLS:
 * field text that needs escaping arrives as the parser read it; a parse killed after rows were
 * already moved out of the stage leaves nothing; reports of one input keep their own rows across
 * moves. Stage sizes are made tiny so every report takes many moves. (reports.test.ts has the
 * corpus, deduplication, quarantine and feedback tests.)
 */
import { gzipSync } from 'node:zlib';
import { schema, withTenant } from '@mailwarden/db';
import { parseReports } from '@mailwarden/reports';
import { createTestTenant } from '@mailwarden/testing/db';
import { eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { ingestRawReport } from './ingest.ts';
import { storeRawReport } from './raw-reports.ts';
import { db, deps, generatedReport, rawCounts, watch } from './reports.test-helper.ts';

const tinyStage = { flushRows: 37, bufferBytes: 2_000 };

async function rowsByReport(tenantId: string) {
  const result = await withTenant(db, tenantId, (tx) =>
    tx.execute<{ report_id: string; n: string; messages: string }>(
      sql`select report_id, count(*) as n, sum(count) as messages from dmarc_report_rows group by report_id`,
    ),
  );
  return new Map(result.rows.map((r) => [r.report_id, { n: Number(r.n), messages: Number(r.messages) }]));
}

describe('ingestRawReport with COPY', () => {
  it('should store field text with tabs, newlines, backslashes and quotes as the parser read it', async () => {
    const tenant = await createTestTenant(db);
    await watch(tenant.id, 'example.com');
    const odd = 'tab&#9;new&#10;line back\\slash "quoted" \\N \\. &amp; ✓';
    const xml = generatedReport({
      records: 3,
      domain: 'example.com',
      reportId: 'hostile-1',
      begin: 1795132800,
      end: 1795219199,
      row: (i) =>
        `<record><row><source_ip>192.0.2.${i + 1}</source_ip><count>${i + 1}</count><policy_evaluated><disposition>none</disposition><dkim>fail</dkim><spf>fail</spf><reason><type>local_policy</type><comment>${odd} ${i}</comment></reason></policy_evaluated></row><identifiers><header_from>example.com</header_from><envelope_from>Bounce.Example.com.</envelope_from></identifiers><auth_results><dkim><domain>example.com</domain><result>fail</result><selector>s1</selector><human_result>${odd}</human_result></dkim><spf><domain>example.com</domain><scope>mfrom</scope><result>fail</result><human_result>${odd}</human_result></spf></auth_results></record>`,
    });
    const bytes = Buffer.from(xml);
    const stored = await storeRawReport(deps(), tenant.id, 'upload', bytes);
    const result = await ingestRawReport(deps(), tenant.id, stored.id, { stage: tinyStage });
    expect(result).toMatchObject({ state: 'parsed', rows: 3 });

    const [parsed] = await parseReports(bytes);
    if (parsed?.type !== 'aggregate') throw new Error('expected an aggregate report');
    const rows = await withTenant(db, tenant.id, (tx) =>
      tx.select().from(schema.dmarcReportRows).orderBy(schema.dmarcReportRows.count),
    );
    expect(rows.map((r) => [r.reasons, r.dkimAuth, r.spfAuth, r.envelopeFrom])).toEqual(
      parsed.report.records.map((r) => [
        r.policyEvaluated.reasons,
        r.authResults.dkim,
        r.authResults.spf,
        r.identifiers.envelopeFrom,
      ]),
    );
    expect(rows[0]!.reasons).toEqual([
      {
        type: 'local_policy',
        comment: `${odd.replace('&#9;', '\t').replace('&#10;', '\n').replace('&amp;', '&')} 0`,
      },
    ]);
  });

  it('should leave nothing when killed after rows were moved, and store each row once on the retry', async () => {
    const tenant = await createTestTenant(db);
    await watch(tenant.id, 'example.com');
    const xml = generatedReport({
      records: 3_000,
      domain: 'example.com',
      reportId: 'kill-after-moves',
      begin: 1795132800,
      end: 1795392000,
    });
    const stored = await storeRawReport(deps(), tenant.id, 'upload', gzipSync(xml));
    let batches = 0;
    await expect(
      ingestRawReport(deps(), tenant.id, stored.id, {
        stage: tinyStage,
        onBatch: (rowsWritten) => {
          // Well past the first moves: rows are in dmarc_report_rows inside the open transaction.
          if (++batches === 3) throw new Error(`worker killed after ${rowsWritten} rows`);
        },
      }),
    ).rejects.toThrow('worker killed');
    expect(await rowsByReport(tenant.id)).toEqual(new Map());
    const [raw] = await withTenant(db, tenant.id, (tx) =>
      tx.select().from(schema.rawReports).where(eq(schema.rawReports.id, stored.id)),
    );
    expect(raw).toMatchObject({ parseState: 'pending', attempts: 1 });

    const retry = await ingestRawReport(deps(), tenant.id, stored.id, { stage: tinyStage });
    expect(retry.state).toBe('parsed');
    // Three UTC days: each record is split into up to three rows, and the messages add up.
    const [counts] = [...(await rowsByReport(tenant.id)).values()];
    expect(counts?.n).toBe(retry.rows);
    expect(counts?.messages).toBe(rawCounts(xml).messages);
  });

  it('should keep the rows of each report of one input apart across moves', async () => {
    const tenant = await createTestTenant(db);
    await watch(tenant.id, 'example.com');
    await watch(tenant.id, 'example.org');
    const a = generatedReport({
      records: 200,
      domain: 'example.com',
      reportId: 'zip-a',
      begin: 1795132800,
      end: 1795219199,
    });
    const b = generatedReport({
      records: 90,
      domain: 'example.org',
      reportId: 'zip-b',
      begin: 1795132800,
      end: 1795219199,
    });
    // A message with both reports attached, as a receiver batching two domains might send.
    const part = (name: string, xml: string) =>
      `--b1\r\nContent-Type: text/xml\r\nContent-Disposition: attachment; filename="${name}"\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(xml).toString('base64').replace(/.{76}/g, '$&\r\n')}\r\n`;
    const mail = `From: reports@receiver.example\r\nTo: rua@reports.example\r\nSubject: two reports\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n${part('a.xml', a)}${part('b.xml', b)}--b1--\r\n`;
    const stored = await storeRawReport(deps(), tenant.id, 'upload', Buffer.from(mail));
    const result = await ingestRawReport(deps(), tenant.id, stored.id, { stage: tinyStage });
    expect(result).toMatchObject({ state: 'parsed', aggregateReports: 2, rows: 290 });
    const reports = await withTenant(db, tenant.id, (tx) =>
      tx
        .select({ id: schema.dmarcReports.id, reportId: schema.dmarcReports.reportId })
        .from(schema.dmarcReports),
    );
    const byReport = await rowsByReport(tenant.id);
    const counts = Object.fromEntries(reports.map((r) => [r.reportId, byReport.get(r.id)]));
    expect(counts).toEqual({
      'zip-a': { n: 200, messages: rawCounts(a).messages },
      'zip-b': { n: 90, messages: rawCounts(b).messages },
    });
  });
});

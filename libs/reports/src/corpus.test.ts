/**
 * Every file of the shared corpus (../shared/corpus/dmarc-aggregate, smtp-tls and forensic) is
 * either parsed or refused with the precise reason its README gives. Expected values come from
 * outside the parser: a regex count over the raw XML, the reporter's file name
 * (`receiver!domain!begin!end`), stalwart mail-auth's expected JSON, the corpus READMEs, and the
 * same report in another container.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { corpusPath } from '@mailwarden/testing/corpus';
import { describe, expect, it } from 'vitest';
import { isReportParseError, type ParsedReport, parseReports, type ReportErrorCode } from './index.ts';

function* filesUnder(dir: string): Generator<string> {
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* filesUnder(path);
    else yield path;
  }
}

async function outcome(
  path: string,
): Promise<{ reports: ParsedReport[] } | { code: ReportErrorCode; message: string }> {
  try {
    return { reports: await parseReports(readFileSync(path)) };
  } catch (err) {
    if (isReportParseError(err)) return { code: err.code, message: err.message };
    throw err;
  }
}

/** Files broken (or not reports) on purpose, per the corpus READMEs, and the refusal each earns. */
const REFUSED: Record<string, ReportErrorCode> = {
  'dmarc-aggregate/SOURCES.md': 'report.unsupported_format',
  'dmarc-aggregate/parsedmarc/aggregate/invalid_xml.xml': 'report.malformed_xml',
  'dmarc-aggregate/parsedmarc/empty.xml': 'report.empty',
  'dmarc-aggregate/opendmarc/bad.com!example.com!1337140800!1337227200.xml': 'report.malformed_xml',
  'dmarc-aggregate/mozaicworks-dmarcreporting/not-a-report.sample.txt.gz': 'report.unsupported_format',
  'dmarc-aggregate/mozaicworks-dmarcreporting/not-a-report.sample.txt.zip': 'report.unsupported_format',
  'dmarc-aggregate/schemas/mail-dmarc-rua-schema.xsd': 'report.not_a_report',
  'smtp-tls/SOURCES.md': 'report.unsupported_format',
  'smtp-tls/stalwart-mail-auth/rpt03.json': 'report.invalid_field',
  'forensic/SOURCES.md': 'report.unsupported_format',
  'forensic/parsedmarc/exim_plain_text_only_no_arf_part.eml': 'report.not_a_report',
};

/** stalwart's expected-output JSON files sit beside the inputs; they are JSON but not reports. */
function isStalwartExpectation(rel: string): boolean {
  return /stalwart-mail-auth\/\d+\.json$/.test(rel) && !rel.startsWith('smtp-tls/');
}

const corpusRoot = corpusPath();
const folders = ['dmarc-aggregate', 'smtp-tls', 'forensic'];
const allFiles = folders.flatMap((folder) => [...filesUnder(corpusPath(folder))]);

function aggregateOf(reports: ParsedReport[]) {
  expect(reports).toHaveLength(1);
  const [only] = reports;
  if (only?.type !== 'aggregate') throw new Error(`expected an aggregate report, got ${only?.type}`);
  return only.report;
}

/** Independent oracle: `<record>` elements and the sum of `<count>` values, by regex. */
function rawCounts(xml: string): { records: number; messages: number } {
  const records = (xml.match(/<record>/g) ?? []).length;
  const messages = [...xml.matchAll(/<count>\s*(\d+)\s*<\/count>/g)].reduce(
    (sum, m) => sum + Number(m[1]),
    0,
  );
  return { records, messages };
}

describe('report corpus', () => {
  it('should find the corpus', () => {
    expect(allFiles.length).toBeGreaterThan(100);
  });

  it('should parse every file, or refuse it with the reason its README gives', async () => {
    const unexpected: string[] = [];
    let parsed = 0;
    for (const path of allFiles) {
      const rel = relative(corpusRoot, path);
      const result = await outcome(path);
      const wanted = REFUSED[rel] ?? (isStalwartExpectation(rel) ? 'report.not_a_report' : undefined);
      if (wanted === undefined) {
        if ('code' in result) unexpected.push(`${rel}: refused with ${result.message}`);
        else if (result.reports.length === 0) unexpected.push(`${rel}: no report`);
        else parsed++;
      } else if (!('code' in result) || result.code !== wanted) {
        unexpected.push(`${rel}: wanted ${wanted}, got ${'code' in result ? result.message : 'a parse'}`);
      }
    }
    expect(unexpected).toEqual([]);
    expect(parsed).toBeGreaterThanOrEqual(80);
  });

  it('should refuse the broken files with a precise detail', async () => {
    const detail = async (rel: string) => {
      const result = await outcome(corpusPath(rel));
      return 'code' in result ? result.message : '';
    };
    expect(await detail('dmarc-aggregate/parsedmarc/aggregate/invalid_xml.xml')).toMatch(
      /malformed_xml: input: 5:18: /,
    );
    expect(await detail('dmarc-aggregate/schemas/mail-dmarc-rua-schema.xsd')).toMatch(
      /<xs:schema> is not a DMARC aggregate/,
    );
    expect(await detail('smtp-tls/stalwart-mail-auth/rpt03.json')).toMatch(
      /policies\[1\]\.policy\.policy-type "invalid-policy-type"/,
    );
    expect(await detail('dmarc-aggregate/mozaicworks-dmarcreporting/not-a-report.sample.txt.zip')).toMatch(
      /sample\.txt/,
    );
  });

  it('should match a regex count of records and messages for every plain XML report', async () => {
    const checked: string[] = [];
    for (const path of allFiles.filter((p) => p.endsWith('.xml') && p.includes('dmarc-aggregate'))) {
      const rel = relative(corpusRoot, path);
      if (REFUSED[rel]) continue;
      const xml = readFileSync(path, 'utf8');
      const report = aggregateOf(((await outcome(path)) as { reports: ParsedReport[] }).reports);
      const expected = rawCounts(xml);
      // tierpod's test_empty.xml has one all-empty record (no IP, count 0): dropped, and counted as such.
      const skipped = report.stats.skippedRecords;
      expect({ rel, records: report.records.length + skipped, messages: report.stats.messageCount }).toEqual({
        rel,
        ...expected,
      });
      expect(report.records.reduce((sum, r) => sum + r.count, 0)).toBe(report.stats.messageCount);
      checked.push(rel);
    }
    expect(checked.length).toBeGreaterThanOrEqual(35);
  });

  it('should agree with the reporter file names on policy domain and date range', async () => {
    let checked = 0;
    for (const path of allFiles) {
      const name = path.split('/').pop() as string;
      const match = /^(?:rfc9990-)?([^!]*)!([^!]+)!(\d{10})!(\d{10})/.exec(name);
      if (!match || REFUSED[relative(corpusRoot, path)]) continue;
      const report = aggregateOf(((await outcome(path)) as { reports: ParsedReport[] }).reports);
      // parsedmarc named its two anonymised samples by hand: `!large-example.com!` reports on
      // example.com, and `!example.com!1538204542!…` says 1538413632 for begin and end.
      if (name.startsWith('!')) continue;
      // Samples renamed to example.* for anonymity kept the real domain inside.
      if (!(match[2] as string).startsWith('example.'))
        expect(report.policyPublished.domain, name).toBe(match[2]);
      expect(report.dateRange.begin.getTime() / 1000, name).toBe(Number(match[3]));
      expect(report.dateRange.end.getTime() / 1000, name).toBe(Number(match[4]));
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(12);
  });

  it('should match the values read off the corpus README and files', async () => {
    const cases = [
      [
        'parsedmarc/aggregate/!large-example.com!1711897200!1711983600.xml',
        '',
        'example.com:1711897200',
        2286,
        2286,
      ],
      [
        'opendmarc/good.com!example.com!1337270400!1337356799.xml',
        '126.com',
        'aggr_report_example.com_20120518_126.com',
        754,
        183934,
      ],
      [
        'opendmarc/163.com!example.com!1337270400!1337356799.20120518163.xml',
        '163.com',
        'aggr_report_example.com_20120518_163.com',
        50,
        92,
      ],
      ['parsedmarc/extract_report/nice-input.xml.zip', 'google.com', '11038226378739404135', 20, 3047],
      [
        'mozaicworks-dmarcreporting/trailing_garbage.xml.gz',
        'Mimecast',
        '534bb2a8c6ff651ab0b3c8c2b495a4ca917ca43483de246c4872248c994738b8',
        5,
        6,
      ],
      ['cry-inc-dmarc-report-viewer/webde.xml', 'WEB.DE', 'a3345c7cb5fd4f26aa62144bf449a54b', 1, 1],
    ] as const;
    for (const [rel, org, reportId, records, messages] of cases) {
      const report = aggregateOf(
        ((await outcome(corpusPath('dmarc-aggregate', rel))) as { reports: ParsedReport[] }).reports,
      );
      expect({
        rel,
        org: report.orgName,
        reportId: report.reportId,
        records: report.records.length,
        messages: report.stats.messageCount,
      }).toEqual({
        rel,
        org,
        reportId,
        records,
        messages,
      });
    }
    const good = aggregateOf(
      (
        (await outcome(
          corpusPath('dmarc-aggregate/opendmarc/good.com!example.com!1337270400!1337356799.xml'),
        )) as { reports: ParsedReport[] }
      ).reports,
    );
    // README: several <dkim> results in 78 of the 754 records.
    expect(good.records.filter((r) => r.authResults.dkim.length > 1)).toHaveLength(78);
  });

  it('should match stalwart mail-auth expected output for its samples', async () => {
    const dir = corpusPath('dmarc-aggregate/stalwart-mail-auth');
    const inputs = readdirSync(dir).filter((f) => /^\d+\.(xml|eml)$/.test(f));
    expect(inputs.length).toBeGreaterThanOrEqual(7);
    for (const input of inputs) {
      const expected = JSON.parse(readFileSync(join(dir, input.replace(/\.(xml|eml)$/, '.json')), 'utf8'));
      const report = aggregateOf(((await outcome(join(dir, input))) as { reports: ParsedReport[] }).reports);
      const meta = expected.report_metadata;
      expect(report.orgName, input).toBe(meta.org_name);
      expect(report.reportId, input).toBe(meta.report_id);
      expect(report.dateRange.begin.getTime() / 1000, input).toBe(meta.date_range.begin);
      expect(report.dateRange.end.getTime() / 1000, input).toBe(meta.date_range.end);
      expect(report.policyPublished.domain, input).toBe(expected.policy_published.domain);
      expect(
        report.records.map((r) => [r.sourceIp, r.count]),
        input,
      ).toEqual(
        expected.record.map((r: { row: { source_ip: string; count: number } }) => [
          r.row.source_ip,
          r.row.count,
        ]),
      );
      expect(
        report.records.map((r) => r.authResults.dkim.map((d) => [d.domain, d.selector, d.result])),
        input,
      ).toEqual(
        expected.record.map(
          (r: { auth_results: { dkim: { domain: string; selector: string | null; result: string }[] } }) =>
            r.auth_results.dkim.map((d) => [d.domain, d.selector ?? null, d.result.toLowerCase()]),
        ),
      );
    }
  });

  it('should read the same report alike from xml, gzip and zip', async () => {
    const families = [
      [
        'avvertix-dmarc-report-parser/dmarc.xml',
        'avvertix-dmarc-report-parser/dmarc.xml.gz',
        'avvertix-dmarc-report-parser/dmarc.zip',
      ],
      [
        'parsedmarc/extract_report/nice-input.xml',
        'parsedmarc/extract_report/nice-input.xml.gz',
        'parsedmarc/extract_report/nice-input.xml.zip',
      ],
      [
        'tierpod-dmarc-report-converter/test.xml',
        'tierpod-dmarc-report-converter/test.xml.gz',
        'tierpod-dmarc-report-converter/test.xml.zip',
      ],
      [
        'mozaicworks-dmarcreporting/trailing_garbage.xml',
        'mozaicworks-dmarcreporting/trailing_garbage.xml.gz',
      ],
    ];
    for (const family of families) {
      const [first, ...rest] = await Promise.all(
        family.map(async (rel) =>
          aggregateOf(
            ((await outcome(corpusPath('dmarc-aggregate', rel))) as { reports: ParsedReport[] }).reports,
          ),
        ),
      );
      for (const other of rest) expect(other).toEqual(first);
    }
  });

  it('should read TLS reports in JSON and mail alike (stalwart rpt01/rpt02)', async () => {
    for (const name of ['rpt01', 'rpt02']) {
      const fromJson = (await outcome(corpusPath('smtp-tls/stalwart-mail-auth', `${name}.json`))) as {
        reports: ParsedReport[];
      };
      const fromMail = (await outcome(corpusPath('smtp-tls/stalwart-mail-auth', `${name}.eml`))) as {
        reports: ParsedReport[];
      };
      expect(fromMail.reports.map((r) => r.report)).toEqual(fromJson.reports.map((r) => r.report));
    }
  });

  it('should read the RFC 8460 example TLS report field by field', async () => {
    const { reports } = (await outcome(corpusPath('smtp-tls/parsedmarc/rfc8460.json'))) as {
      reports: ParsedReport[];
    };
    expect(reports[0]?.type).toBe('tls');
    const report = reports[0]?.report as import('./tls-rpt.ts').TlsReport;
    expect(report.organizationName).toBe('Company-X');
    expect(report.reportId).toBe('5065427c-23d3-47ca-b6e0-946ea0e8c4be');
    expect(report.dateRange.start.toISOString()).toBe('2016-04-01T00:00:00.000Z');
    const [policy] = report.policies;
    expect(policy?.policyType).toBe('sts');
    expect(policy?.mxHost).toEqual(['*.mail.company-y.example']);
    expect(policy?.totalSuccessfulSessionCount).toBe(5326);
    expect(policy?.totalFailureSessionCount).toBe(303);
    expect(policy?.failureDetails.map((d) => [d.resultType, d.sendingMtaIp, d.failedSessionCount])).toEqual([
      ['certificate-expired', '2001:db8:abcd:12::1', 100],
      ['starttls-not-supported', '2001:db8:abcd:13::1', 200],
      ['validation-failure', '198.51.100.62', 3],
    ]);
    expect(policy?.failureDetails[2]?.failureReasonCode).toBe('X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED');
    const noContact = (await outcome(corpusPath('smtp-tls/cry-inc-dmarc-report-viewer/no-contact.json'))) as {
      reports: ParsedReport[];
    };
    const noContactReport = noContact.reports[0]?.report as import('./tls-rpt.ts').TlsReport;
    expect(noContactReport.contactInfo).toBeNull();
    expect(noContactReport.policies[0]?.mxHost).toEqual(['mx.server.com']);
  });
});

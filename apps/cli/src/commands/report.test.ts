import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { corpusPath } from '@mailwarden/testing/corpus';
import { describe, expect, it } from 'vitest';

const mainPath = fileURLToPath(new URL('../main.ts', import.meta.url));

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [mainPath, ...args],
      { env: {}, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const aggregate = (rel: string) => corpusPath('dmarc-aggregate', rel);

// Each case starts the CLI a few times; a cold start loads every command's libraries.
describe('mailwarden report parse', { timeout: 60_000 }, () => {
  it('should print a zipped aggregate report inside a message as normalised JSON', async () => {
    const { code, stdout, stderr } = await cli('report', 'parse', aggregate('mjl-mox/google.eml'));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const { reports } = JSON.parse(stdout);
    expect(reports).toHaveLength(1);
    const [only] = reports;
    expect(only.type).toBe('aggregate');
    expect(only.source).toMatch(/mime part 1 .*> zip entry/);
    expect(only.report).toMatchObject({ orgName: 'google.com', reportId: '13488712042596170873' });
    expect(only.report.policyPublished.domain).toBe('ueber.net');
    expect(only.report.dateRange).toEqual({
      begin: '2021-10-12T00:00:00.000Z',
      end: '2021-10-12T23:59:59.000Z',
    });
    expect(only.records.map((r: { sourceIp: string; count: number }) => [r.sourceIp, r.count])).toEqual([
      ['2a02:2770:3:0:21a:4aff:fea1:8a7b', 2],
      ['46.19.35.124', 3],
    ]);
    expect(only.records[0].alignment).toEqual({ dkim: true, spf: true, dmarc: true, basis: 'reported' });
    expect(only.stats).toMatchObject({ recordCount: 2, messageCount: 5 });
  });

  it('should stream a large report as valid JSON with every record', async () => {
    const { code, stdout } = await cli(
      'report',
      'parse',
      aggregate('parsedmarc/aggregate/!large-example.com!1711897200!1711983600.xml'),
    );
    expect(code).toBe(0);
    const { reports } = JSON.parse(stdout);
    expect(reports[0].records).toHaveLength(2286);
  });

  it('should print TLS and failure reports', async () => {
    const tls = await cli('report', 'parse', corpusPath('smtp-tls/mjl-mox/microsoft.eml'));
    expect(tls.code).toBe(0);
    const tlsReport = JSON.parse(tls.stdout).reports[0];
    expect(tlsReport.type).toBe('tls');
    expect(tlsReport.report.organizationName).toBe('Microsoft Corporation');
    const failure = await cli('report', 'parse', corpusPath('forensic/stalwart-mail-auth/004.eml'));
    expect(failure.code).toBe(0);
    const failureReport = JSON.parse(failure.stdout).reports[0];
    expect(failureReport.type).toBe('failure');
    expect(failure.stdout).not.toMatch(/info@interpublication/);
  });

  it('should print totals with --summary, as text or JSON', async () => {
    const file = aggregate('opendmarc/good.com!example.com!1337270400!1337356799.xml');
    const text = await cli('report', 'parse', '--summary', file);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /DMARC aggregate report "aggr_report_example.com_20120518_126.com" from "126.com"/,
    );
    expect(text.stdout).toMatch(/records +754 /);
    expect(text.stdout).toMatch(/messages +183934: DMARC pass /);
    const json = await cli('report', 'parse', '--summary', '--json', file);
    const [summary] = JSON.parse(json.stdout).reports;
    expect(summary.totals).toMatchObject({ records: 754, messages: 183934 });
    expect(summary.totals.dispositions.reject + summary.totals.dispositions.none).toBe(183934);
    const tls = await cli('report', 'parse', '--summary', corpusPath('smtp-tls/parsedmarc/rfc8460.json'));
    expect(tls.stdout).toMatch(/sessions +5326 successful, 303 failed/);
  });

  it('should refuse a broken file with its code on stderr, nothing on stdout, exit 1', async () => {
    for (const [rel, code] of [
      ['parsedmarc/aggregate/invalid_xml.xml', 'report.malformed_xml'],
      ['parsedmarc/empty.xml', 'report.empty'],
      ['mozaicworks-dmarcreporting/not-a-report.sample.txt.gz', 'report.unsupported_format'],
    ] as const) {
      const result = await cli('report', 'parse', aggregate(rel));
      expect(result.code, rel).toBe(1);
      expect(result.stdout, rel).toBe('');
      expect(result.stderr, rel).toContain(code);
    }
  });

  it('should reject a bad command line with exit code 2', async () => {
    expect((await cli('report')).code).toBe(2);
    expect((await cli('report', 'frobnicate', 'x')).code).toBe(2);
    expect((await cli('report', 'parse', '--bogus', 'x')).code).toBe(2);
    const missing = await cli('report', 'parse', '/nonexistent/report.xml');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no such file/);
    const help = await cli('report', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: mailwarden report parse <file>/);
  });
});

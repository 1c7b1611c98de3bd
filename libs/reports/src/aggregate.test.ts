import { describe, expect, it } from 'vitest';
import {
  type AggregateRecord,
  createTotals,
  dmarcPass,
  isReportParseError,
  type ParsedReport,
  parseReports,
  readReports,
  recordAlignment,
  reportDays,
  splitCount,
  splitIntoDailyBuckets,
} from './index.ts';
import { googleReportPieces } from './test-kit.ts';

async function aggregate(xml: string | Buffer) {
  const reports: ParsedReport[] = await parseReports(typeof xml === 'string' ? Buffer.from(xml) : xml);
  const [only] = reports;
  if (only?.type !== 'aggregate') throw new Error('not an aggregate report');
  return only.report;
}

async function code(xml: string): Promise<string> {
  try {
    await parseReports(Buffer.from(xml));
  } catch (err) {
    if (isReportParseError(err)) return err.code;
    throw err;
  }
  return 'accepted';
}

const sloppy = `

<?xml version="1.0"?>
<dmarc:feedback xmlns:dmarc="urn:ietf:params:xml:ns:dmarc-2.0">
  <dmarc:version> 1.0 </dmarc:version>
  <dmarc:report_metadata>
    <dmarc:org_name>  Example Org  </dmarc:org_name>
    <dmarc:report_id> r-1 </dmarc:report_id>
    <dmarc:error>first</dmarc:error><dmarc:error>second</dmarc:error>
    <dmarc:date_range><dmarc:begin>1700000000.0</dmarc:begin><dmarc:end> 1700604799 </dmarc:end><x-new/></dmarc:date_range>
  </dmarc:report_metadata>
  <dmarc:policy_published>
    <dmarc:domain>Example.COM.</dmarc:domain><dmarc:adkim>S</dmarc:adkim><dmarc:p>Reject</dmarc:p>
    <dmarc:np>quarantine</dmarc:np><dmarc:testing>N</dmarc:testing><dmarc:pct>250</dmarc:pct>
    stray text
  </dmarc:policy_published>
  <dmarc:record>
    <dmarc:row>
      <dmarc:source_ip> 2001:DB8:0:0:0:0:0:1 </dmarc:source_ip><dmarc:count>7</dmarc:count>
      <dmarc:policy_evaluated><dmarc:disposition>PASS</dmarc:disposition><dmarc:dkim>Pass</dmarc:dkim><dmarc:spf>FAIL</dmarc:spf>
        <dmarc:reason><dmarc:type>Forwarded</dmarc:type><dmarc:comment> list </dmarc:comment></dmarc:reason></dmarc:policy_evaluated>
    </dmarc:row>
    <dmarc:identifiers><dmarc:header_from>EXAMPLE.com</dmarc:header_from><dmarc:envelope_to>dest.example</dmarc:envelope_to></dmarc:identifiers>
    <dmarc:auth_results>
      <dmarc:dkim><dmarc:domain>example.com</dmarc:domain><dmarc:selector>S1</dmarc:selector><dmarc:result>PASS</dmarc:result></dmarc:dkim>
      <dmarc:dkim><dmarc:domain>other.example</dmarc:domain><dmarc:result>fail</dmarc:result><dmarc:human_result>bad sig</dmarc:human_result></dmarc:dkim>
      <dmarc:spf><dmarc:domain>bounce.example.com</dmarc:domain><dmarc:scope>MFROM</dmarc:scope><dmarc:result>softfail</dmarc:result></dmarc:spf>
    </dmarc:auth_results>
    <dmarc:extensions><dmarc:extension name="x"><dmarc:data>1</dmarc:data></dmarc:extension></dmarc:extensions>
  </dmarc:record>
  <dmarc:record><dmarc:row><dmarc:source_ip>::ffff:192.0.2.9</dmarc:source_ip><dmarc:count>2</dmarc:count></dmarc:row></dmarc:record>
  <dmarc:record><dmarc:row><dmarc:source_ip>192.000.002.010</dmarc:source_ip><dmarc:count>1</dmarc:count></dmarc:row></dmarc:record>
  <dmarc:record><dmarc:row><dmarc:source_ip>not-an-ip</dmarc:source_ip><dmarc:count>3</dmarc:count></dmarc:row></dmarc:record>
</dmarc:feedback>
garbage after the root`;

describe('DMARC aggregate parsing', () => {
  it('should normalise a sloppy namespaced RFC 9990 report', async () => {
    const report = await aggregate(sloppy);
    expect(report.format).toBe('rfc9990');
    expect(report.version).toBe('1.0');
    expect(report.orgName).toBe('Example Org');
    expect(report.reportId).toBe('r-1');
    expect(report.errors).toEqual(['first', 'second']);
    expect(report.dateRange.begin.toISOString()).toBe('2023-11-14T22:13:20.000Z');
    expect(report.dateRange.end.getTime()).toBe(1700604799 * 1000);
    expect(report.policyPublished).toEqual({
      domain: 'example.com',
      adkim: 's',
      aspf: null,
      p: 'reject',
      sp: null,
      pct: null,
      np: 'quarantine',
      fo: null,
      testing: 'n',
      discoveryMethod: null,
    });
    const [first, mapped, zeros, bad] = report.records as AggregateRecord[];
    expect(first).toEqual({
      sourceIp: '2001:db8::1',
      count: 7,
      policyEvaluated: {
        disposition: 'pass',
        dkim: 'pass',
        spf: 'fail',
        reasons: [{ type: 'forwarded', comment: 'list' }],
      },
      identifiers: { headerFrom: 'example.com', envelopeFrom: null, envelopeTo: 'dest.example' },
      authResults: {
        dkim: [
          { domain: 'example.com', selector: 's1', result: 'pass', humanResult: null },
          { domain: 'other.example', selector: null, result: 'fail', humanResult: 'bad sig' },
        ],
        spf: [{ domain: 'bounce.example.com', scope: 'mfrom', result: 'softfail', humanResult: null }],
      },
    });
    expect(mapped?.sourceIp).toBe('192.0.2.9');
    expect(zeros?.sourceIp).toBe('192.0.2.10');
    expect(bad?.sourceIp).toBeNull();
    expect(bad?.count).toBe(3);
    expect(report.stats.messageCount).toBe(13);
    expect(report.stats.warnings.join('\n')).toMatch(/pct "250"/);
    expect(report.stats.warnings.join('\n')).toMatch(/record 4: source_ip "not-an-ip"/);
  });

  it('should read windows-1252 text', async () => {
    const xml = Buffer.concat([
      Buffer.from('<?xml version="1.0" encoding="windows-1252"?><feedback><report_metadata><org_name>M'),
      Buffer.from([0xfc]),
      Buffer.from(
        'ller</org_name><report_id>1</report_id><date_range><begin>1</begin><end>2</end></date_range></report_metadata><policy_published><domain>a.example</domain></policy_published></feedback>',
      ),
    ]);
    expect((await aggregate(xml)).orgName).toBe('Müller');
  });

  it('should refuse reports without the fields deduplication needs', async () => {
    const base = [...googleReportPieces({ records: 1 })].join('');
    expect(await code(base.replace(/<report_id>.*<\/report_id>/, ''))).toBe('report.missing_field');
    expect(await code(base.replace(/<begin>.*<\/begin>/, ''))).toBe('report.missing_field');
    expect(await code(base.replace(/<domain>example.com<\/domain>\n {4}<adkim>/, '<adkim>'))).toBe(
      'report.missing_field',
    );
    expect(await code(base.replace(/<begin>\d+/, '<begin>yesterday'))).toBe('report.invalid_field');
    expect(await code(base.replace(/<begin>\d+/, '<begin>1734083199'))).toBe('report.invalid_field');
    expect(await code(base.replace('</feedback>', ''))).toBe('report.malformed_xml');
  });

  it('should stream: record batches arrive while the input is still being read', async () => {
    const pieces = [...googleReportPieces({ records: 5000 }, 3, 500)];
    let served = 0;
    async function* slowly(): AsyncGenerator<Uint8Array> {
      for (const piece of pieces) {
        served++;
        yield Buffer.from(piece);
      }
    }
    const seen: { type: string; served: number; records: number }[] = [];
    for await (const event of readReports(slowly()))
      seen.push({
        type: event.type,
        served,
        records: event.type === 'aggregate-records' ? event.records.length : 0,
      });
    expect(seen[0]?.type).toBe('aggregate-header');
    expect(seen.at(-1)?.type).toBe('aggregate-end');
    const batches = seen.filter((e) => e.type === 'aggregate-records');
    expect(batches.reduce((sum, e) => sum + e.records, 0)).toBe(5000);
    // The first batch came out long before the last piece was read.
    expect(batches[0]?.served).toBeLessThan(pieces.length / 2);
    expect(Math.max(...batches.map((e) => e.records))).toBeLessThan(1000);
  });
});

describe('alignment, totals and daily buckets', () => {
  const record = (over: Partial<AggregateRecord['policyEvaluated']>, count = 1): AggregateRecord => ({
    sourceIp: '192.0.2.1',
    count,
    policyEvaluated: { disposition: 'none', dkim: null, spf: null, reasons: [], ...over },
    identifiers: { headerFrom: 'example.com', envelopeFrom: null, envelopeTo: null },
    authResults: {
      dkim: [{ domain: 'mail.example.com', selector: 's', result: 'pass', humanResult: null }],
      spf: [{ domain: 'other.example', scope: 'mfrom', result: 'pass', humanResult: null }],
    },
  });

  it('should pass DMARC when DKIM or SPF passes aligned, from policy_evaluated first', () => {
    expect(recordAlignment(record({ dkim: 'pass', spf: 'fail' }))).toEqual({
      dkim: true,
      spf: false,
      dmarc: true,
      basis: 'reported',
    });
    expect(dmarcPass(record({ dkim: 'fail', spf: 'fail' }))).toBe(false);
    // Derived: relaxed DKIM aligns a subdomain signer, SPF for an unrelated domain does not.
    expect(recordAlignment(record({}))).toEqual({ dkim: true, spf: false, dmarc: true, basis: 'derived' });
    expect(recordAlignment(record({}), { adkim: 's' }).dkim).toBe(false);
  });

  it('should total messages by outcome', () => {
    const totals = createTotals();
    totals.add([
      record({ dkim: 'pass', spf: 'pass' }, 5),
      record({ dkim: 'fail', spf: 'fail', disposition: 'reject' }, 2),
    ]);
    expect(totals.totals()).toMatchObject({
      records: 2,
      messages: 7,
      dmarcPass: 5,
      dkimAligned: 5,
      spfAligned: 5,
      dispositions: { none: 5, reject: 2 },
    });
  });

  it('should keep a one-day report on one day and split a longer one by overlap, preserving counts', () => {
    const day = (iso: string) => new Date(iso);
    expect(reportDays({ begin: day('2024-06-13T00:00:00Z'), end: day('2024-06-13T23:59:59Z') })).toEqual([
      { day: '2024-06-13', weight: 1 },
    ]);
    // 22:00 to 22:00 (a reporter on UTC+2): the middle of the range decides.
    expect(reportDays({ begin: day('2024-06-12T22:00:00Z'), end: day('2024-06-13T22:00:00Z') })).toEqual([
      { day: '2024-06-13', weight: 1 },
    ]);
    const week = reportDays({ begin: day('2024-06-10T12:00:00Z'), end: day('2024-06-13T12:00:00Z') });
    expect(week.map((d) => [d.day, d.weight])).toEqual([
      ['2024-06-10', 1 / 6],
      ['2024-06-11', 2 / 6],
      ['2024-06-12', 2 / 6],
      ['2024-06-13', 1 / 6],
    ]);
    expect(splitCount(10, week)).toEqual([
      { day: '2024-06-10', count: 2 },
      { day: '2024-06-11', count: 3 },
      { day: '2024-06-12', count: 3 },
      { day: '2024-06-13', count: 2 },
    ]);
    for (const count of [0, 1, 5, 7, 1001])
      expect(splitCount(count, week).reduce((s, d) => s + d.count, 0)).toBe(count);
    const buckets = splitIntoDailyBuckets({
      dateRange: { begin: day('2024-06-10T12:00:00Z'), end: day('2024-06-13T12:00:00Z') },
      records: [record({}, 1), record({}, 6)],
    });
    // The count-1 record lands on the first of the two largest shares (ties go to the earlier day).
    expect(buckets.map((b) => [b.day, b.messageCount, b.records.length])).toEqual([
      ['2024-06-10', 1, 1],
      ['2024-06-11', 3, 2],
      ['2024-06-12', 2, 1],
      ['2024-06-13', 1, 1],
    ]);
  });
});

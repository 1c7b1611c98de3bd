import { type ScanOptions, type ScanReport, scanDomain } from '@mailwarden/checks';
import { createZoneResolver, type Zone } from '@mailwarden/testing/zone-resolver';
import { describe, expect, it } from 'vitest';
import {
  DKIM_SELECTOR,
  GOOD_SVG,
  goodDomainZone,
  policyText,
} from '../../../../libs/checks/src/scan/scan-fixtures.test-helper.ts';
import { parseDomainList, scanMany } from './bulk.ts';
import { CSV_COLUMNS, csvErrorRow, csvField, csvRow, failOnTriggered, severityCounts } from './outcome.ts';
import { progressBar } from './progress.ts';
import { evidenceSummary, renderTextReport } from './text-report.ts';

const zone: Zone = {
  ...(goodDomainZone('good.example', {
    mxAddress: '192.0.2.10',
    policyAddress: '192.0.2.20',
    logoUrl: 'https://brand.good.example/logo.svg',
  }) as Zone),
  'weak.example': { TXT: ['v=spf1 +all'], MX: [{ preference: 10, exchange: 'mx.weak.example' }] },
  'mx.weak.example': { A: ['192.0.2.30'] },
  // Every name the scan asks about slow.example times out.
  ...Object.fromEntries(
    [
      '',
      '_dmarc.',
      '_domainkey.',
      `${DKIM_SELECTOR}._domainkey.`,
      '_mta-sts.',
      '_smtp._tls.',
      'default._bimi.',
    ].map((prefix) => [`${prefix}slow.example`, { unknown: 'timeout' as const }]),
  ),
};

/** ESC, kept out of regex literals (lint: no control characters in them). */
const ESC = String.fromCharCode(27);

function options(): ScanOptions {
  return {
    resolver: createZoneResolver(zone),
    dkimSelectors: [DKIM_SELECTOR],
    fetchPolicy: async () => ({
      status: 'ok',
      httpStatus: 200,
      contentType: 'text/plain',
      body: policyText(['mx1.good.example']),
    }),
    fetchResource: async () => ({
      status: 'ok',
      httpStatus: 200,
      contentType: 'image/svg+xml',
      body: GOOD_SVG,
    }),
    now: () => new Date('2026-03-01T00:00:00Z'),
  };
}

const scan = (domain: string) => scanDomain(domain, options());

describe('text report', () => {
  it('should group findings by check with severity, code, evidence and remediation, plain off a TTY', async () => {
    const text = renderTextReport(await scan('weak.example'), { color: false });
    expect(text).toMatch(/^weak\.example {2}grade F \(\d+\/100\)\n/);
    expect(text).not.toContain('\x1b[');
    const spf = text.slice(text.indexOf('\nSPF '), text.indexOf('\nDKIM '));
    expect(spf).toContain('CRITICAL');
    expect(spf).toContain('spf.pass_all · weak.example');
    expect(spf).toContain('evidence: term=+all  path=["weak.example"]');
    expect(spf).toMatch(/fix: .+/);
    expect(text).toMatch(/score capped at 39 by critical: spf\.pass_all/);
  });

  it('should colour severities and statuses only when asked', async () => {
    const report = await scan('weak.example');
    const colored = renderTextReport(report, { color: true });
    expect(colored).toContain('\x1b[1m\x1b[31mCRITICAL');
    expect(colored.replace(new RegExp(`${ESC}\\[\\d+m`, 'g'), '')).toBe(
      renderTextReport(report, { color: false }),
    );
  });

  it('should say a check is unknown and not scored, rather than failed', async () => {
    const text = renderTextReport(await scan('slow.example'), { color: false });
    expect(text).toMatch(/^slow\.example {2}grade unknown \(no score: nothing could be checked\) — partial/);
    expect(text).toContain('SPF  UNKNOWN — DNS or a fetch did not answer; not scored');
    expect(text).toContain('not scored, unknown: MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT, BIMI');
  });

  it('should keep evidence short and point to --json for the rest', () => {
    expect(evidenceSummary({ a: 'x'.repeat(200), b: [1, 2], c: null, d: 4, e: 5, f: 6 })).toBe(
      `a=${'x'.repeat(79)}…  b=[1,2]  d=4  e=5  (+1 more in --json)`,
    );
  });
});

describe('fail-on, counts and CSV', () => {
  it('should trip --fail-on at or above the threshold, and never on unknown results', async () => {
    const good = await scan('good.example');
    expect(failOnTriggered(good, 'info')).toBe(true); // bimi.no_vmc
    expect(failOnTriggered(good, 'low')).toBe(false);
    const weak = await scan('weak.example');
    expect(failOnTriggered(weak, 'critical')).toBe(true);
    const slow = await scan('slow.example');
    expect(slow.results.some((r) => r.findings.length > 0)).toBe(true);
    expect(failOnTriggered(slow, 'info')).toBe(false);
    expect(severityCounts(slow)).toEqual({ info: 0, low: 0, medium: 0, high: 0, critical: 0 });
  });

  it('should quote CSV fields per RFC 4180 and keep one column per header', async () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"\nbye')).toBe('"say ""hi""\nbye"');
    expect(csvField(null)).toBe('');
    const row = csvRow(await scan('good.example'));
    expect(row.endsWith('\r\n')).toBe(true);
    expect(row.trimEnd().split(',')).toHaveLength(CSV_COLUMNS.length);
    expect(row).toMatch(
      /^good\.example,A\+,100,false,,ok,ok,ok,ok,ok,ok,findings,0,0,0,0,1,bimi\.no_vmc,\d+,\d+,\r\n$/,
    );
    expect(csvErrorRow('x.example', 'boom, bang').trimEnd().split(',')).toHaveLength(CSV_COLUMNS.length + 1);
  });
});

describe('bulk', () => {
  it('should read one domain per line, skipping comments, blanks and repeats, and name bad lines', () => {
    const list = parseDomainList(
      '# list\r\nA.example\n\n b.example # second\na.example\nnot valid\n',
      (raw) => (raw.includes(' ') ? null : raw.toLowerCase()),
    );
    expect(list).toEqual({ domains: ['a.example', 'b.example'], invalid: [{ line: 6, text: 'not valid' }] });
  });

  it('should never have more than `concurrency` scans in flight, and hand every outcome on', async () => {
    const base = options();
    let inFlight = 0;
    let peak = 0;
    const slowResolver = {
      async query(...args: Parameters<ScanOptions['resolver']['query']>) {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 1));
        inFlight--;
        return base.resolver.query(...args);
      },
    } as ScanOptions['resolver'];
    const domains = Array.from({ length: 12 }, (_, i) => `d${i}.example`);
    const seen: string[] = [];
    const progress: number[] = [];
    await scanMany(domains, {
      concurrency: 3,
      scan: { ...base, resolver: slowResolver, checks: ['spf'] },
      onOutcome: (o) => seen.push(o.domain),
      onProgress: (done) => progress.push(done),
    });
    expect(seen.sort()).toEqual([...domains].sort());
    expect(progress).toEqual(domains.map((_, i) => i + 1));
    // One SPF question per scan at a time: the peak is the number of scans in flight.
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBeGreaterThan(1);
  });

  it('should report a domain that cannot be scanned on its own line and go on', async () => {
    const outcomes: Array<{ domain: string; report?: ScanReport; error?: string }> = [];
    await scanMany(['good.example', 'not a domain'], {
      concurrency: 2,
      scan: options(),
      onOutcome: (o) => outcomes.push(o),
    });
    expect(outcomes.find((o) => o.domain === 'not a domain')?.error).toMatch(/not a domain name/);
    expect(outcomes.find((o) => o.domain === 'good.example')?.report?.posture.grade).toBe('A+');
  });

  it('should draw progress only on a terminal', () => {
    const written: string[] = [];
    const fake = (isTTY: boolean) =>
      ({ isTTY, write: (s: string) => written.push(s) }) as unknown as NodeJS.WriteStream;
    let t = 0;
    const quiet = progressBar(fake(false), 10);
    quiet.tick(5);
    quiet.finish();
    expect(written).toEqual([]);
    const bar = progressBar(fake(true), 10, () => t);
    t = 1000;
    bar.tick(5);
    t = 1050;
    bar.tick(6); // within 100 ms of the last draw: skipped
    t = 2000;
    bar.tick(10);
    bar.finish();
    expect(written).toHaveLength(3);
    expect(written[0]).toBe(`\r${ESC}[K${'█'.repeat(12)}${'░'.repeat(12)} 5/10  5/s  ETA 1s`);
    expect(written[2]).toBe('\r\x1b[K');
  });
});

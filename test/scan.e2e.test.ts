/**
 * `mailwarden scan` end to end: the CLI is spawned as an operator runs it, against the loopback
 * authoritative DNS server (UDP+TCP) and HTTPS fixtures with test-CA certificates listening where
 * the product looks for them: port 443 of the address `mta-sts.<domain>` resolves to (tests run as
 * root, so no test-only port option exists). 127.0.0.0/8 is opened with --allow-cidr; the CA comes
 * in with --ca-file. Nothing leaves 127.0.0.0/8, and /etc/resolv.conf is never read: every run
 * names its --dns-server.
 *
 * Three domains: good.test (every check passes), broken.test (a finding in every check) and
 * slow.test (the server drops every question: unknown, never a verdict).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ScanReport } from '@mailwarden/checks';
import { startDnsServer, type TestDnsServer } from '@mailwarden/testing/dns-server';
import { startHttpsServer, type TestHttpsServer } from '@mailwarden/testing/https-server';
import { createTestCa, issueCert } from '@mailwarden/testing/tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rsaKeyBase64 } from '../libs/checks/src/dkim/test-keys.test-helper.ts';
import {
  DKIM_SELECTOR,
  type FlatZone,
  GOOD_SVG,
  goodDomainZone,
  policyText,
} from '../libs/checks/src/scan/scan-fixtures.test-helper.ts';
import { flatToZones, runCli } from './scan-fixtures.ts';

const DNS_HOST = '127.77.0.53';
const GOOD_WEB = '127.77.0.20';
const BROKEN_WEB = '127.77.0.21';
const SLOW_NAMES = [
  '',
  '_dmarc.',
  '_domainkey.',
  `${DKIM_SELECTOR}._domainkey.`,
  '_mta-sts.',
  '_smtp._tls.',
  'default._bimi.',
].map((prefix) => `${prefix}slow.test`);

const brokenZone: FlatZone = {
  'broken.test': {
    MX: [
      { preference: 10, exchange: '192.0.2.1' },
      { preference: 20, exchange: 'nowhere.broken.test' },
    ],
    TXT: ['v=spf1 ptr include:loop.broken.test +all'],
  },
  'loop.broken.test': { TXT: ['v=spf1 include:broken.test -all'] },
  '_dmarc.broken.test': { TXT: ['v=DMARC1; p=none; pct=50; rua=mailto:reports@elsewhere.example'] },
  [`${DKIM_SELECTOR}._domainkey.broken.test`]: { TXT: [`v=DKIM1; t=y; k=rsa; p=${rsaKeyBase64(1024)}`] },
  '_mta-sts.broken.test': { TXT: ['v=STSv1; id=1'] },
  'mta-sts.broken.test': { A: [BROKEN_WEB] },
  '_smtp._tls.broken.test': { TXT: ['v=TLSRPTv1; rua=ftp://reports.broken.test'] },
  'default._bimi.broken.test': { TXT: ['v=BIMI1; l=http://brand.broken.test/logo.svg'] },
};

let dns: TestDnsServer;
const web: TestHttpsServer[] = [];
let dir: string;
let caFile: string;

beforeAll(async () => {
  const ca = await createTestCa();
  dir = mkdtempSync(join(tmpdir(), 'mw-scan-e2e-'));
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, ca.certPem);
  const flat: FlatZone = {
    ...goodDomainZone('good.test', {
      mxAddress: '192.0.2.10',
      policyAddress: GOOD_WEB,
      logoUrl: 'https://brand.good.test/logo.svg',
    }),
    'brand.good.test': { A: [GOOD_WEB] },
    ...brokenZone,
  };
  dns = await startDnsServer({
    host: DNS_HOST,
    zones: flatToZones(flat, ['test', 'example', '2.0.192.in-addr.arpa']),
  });
  for (const name of SLOW_NAMES) dns.setFault(name, { kind: 'drop' });
  const [goodCert, brokenCert] = await Promise.all([
    issueCert(ca, { names: ['mta-sts.good.test', 'brand.good.test'] }),
    issueCert(ca, { names: ['mta-sts.broken.test'] }),
  ]);
  web.push(
    await startHttpsServer({
      host: GOOD_WEB,
      port: 443,
      cert: goodCert.chainPem,
      key: goodCert.keyPem,
      routes: {
        '/.well-known/mta-sts.txt': { body: policyText(['mx1.good.test']) },
        '/logo.svg': { body: GOOD_SVG, headers: { 'content-type': 'image/svg+xml' } },
      },
    }),
    await startHttpsServer({
      host: BROKEN_WEB,
      port: 443,
      cert: brokenCert.chainPem,
      key: brokenCert.keyPem,
      routes: {
        '/.well-known/mta-sts.txt': {
          body: 'version: STSv1\nmode: testing\nmx: mail.other.example\nmax_age: 3600\n',
          headers: { 'content-type': 'text/html' },
        },
      },
    }),
  );
});

afterAll(async () => {
  await Promise.all([dns?.close(), ...web.map((w) => w.close())]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function scan(...args: string[]) {
  return runCli([
    'scan',
    ...args,
    '--dns-server',
    dns.address,
    '--ca-file',
    caFile,
    '--allow-cidr',
    '127.0.0.0/8',
    '--dkim-selector',
    DKIM_SELECTOR,
    '--timeout-ms',
    '400',
  ]);
}

const statuses = (report: ScanReport) => Object.fromEntries(report.results.map((r) => [r.check, r.status]));
const codes = (report: ScanReport) => report.results.flatMap((r) => r.findings.map((f) => f.code)).sort();

describe('mailwarden scan (end to end)', () => {
  it('should pass a good domain, fetching its policy over HTTPS from port 443', async () => {
    const run = await scan('good.test', '--json');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as ScanReport;
    expect(statuses(report)).toEqual({
      mx: 'ok',
      spf: 'ok',
      dkim: 'ok',
      dmarc: 'ok',
      mta_sts: 'ok',
      tls_rpt: 'ok',
      bimi: 'findings',
    });
    expect(codes(report)).toEqual(['bimi.no_vmc']);
    expect(report.posture).toMatchObject({ score: 100, grade: 'A+', partial: false });
    const mtaSts = report.results.find((r) => r.check === 'mta_sts');
    expect(mtaSts?.facts).toMatchObject({
      fetch: { status: 'ok', httpStatus: 200, contentType: 'text/plain' },
      policy: { mode: 'enforce', mx: ['mx1.good.test'] },
      coverage: [{ host: 'mx1.good.test', matchedBy: 'mx1.good.test' }],
    });
    expect(web[0]?.requests.map((r) => [r.servername, r.path])).toEqual(
      expect.arrayContaining([
        ['mta-sts.good.test', '/.well-known/mta-sts.txt'],
        ['brand.good.test', '/logo.svg'],
      ]),
    );
  });

  it('should list every problem of a broken domain, grade it F and fail the pipeline', async () => {
    const run = await scan('broken.test', '--json', '--fail-on', 'high');
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as ScanReport;
    expect(codes(report)).toEqual(
      expect.arrayContaining([
        'mx.ip_literal',
        'mx.host_unresolvable',
        'spf.pass_all',
        'spf.ptr_deprecated',
        'spf.include_loop',
        'dmarc.policy_none',
        'dmarc.deprecated_tag',
        'dmarc.external_destination_unauthorized',
        'dkim.key_weak',
        'dkim.testing_mode',
        'mta_sts.policy_content_type',
        'mta_sts.mode_testing',
        'mta_sts.max_age_too_short',
        'mta_sts.mx_not_covered',
        'tls_rpt.invalid_rua',
        'bimi.logo_not_https',
        'bimi.dmarc_not_enforced',
      ]),
    );
    expect(report.posture.grade).toBe('F');
    expect(report.posture.score).toBeLessThan(40);
  });

  it('should report a domain whose DNS times out as unknown, not as a verdict', async () => {
    const run = await scan('slow.test', '--json', '--fail-on', 'info');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as ScanReport;
    expect(new Set(Object.values(statuses(report)))).toEqual(new Set(['unknown']));
    expect(report.posture).toMatchObject({ score: null, grade: null, partial: true });
    // Proven findings only: nothing says "missing" about a domain we could not ask.
    expect(codes(report).filter((c) => !c.endsWith('.lookup_unknown'))).toEqual([]);
  });

  it('should set the exit code by --fail-on: at or above the threshold only', async () => {
    const [low, info, text] = await Promise.all([
      scan('good.test', '--fail-on', 'low'),
      scan('good.test', '--fail-on', 'info'),
      scan('broken.test'),
    ]);
    expect(low.code).toBe(0);
    expect(info.code).toBe(1);
    // Without --fail-on findings never fail the command; the text report is plain off a TTY.
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^broken\.test {2}grade F \(\d+\/100\)/);
    expect(text.stdout).toContain('CRITICAL');
    expect(text.stdout).toContain('fix: ');
    expect(text.stdout).not.toContain('\x1b[');
  });

  it('should scan a file in bulk as JSON lines and as CSV', async () => {
    const file = join(dir, 'domains.txt');
    writeFileSync(file, '# fleet\ngood.test\n\nBroken.Test.\nslow.test  # times out\ngood.test\n');
    const [jsonl, csv] = await Promise.all([
      scan('--file', file, '--fail-on', 'critical', '--concurrency', '2'),
      scan('--file', file, '--format', 'csv'),
    ]);
    expect(jsonl.code).toBe(1);
    expect(jsonl.stderr).toBe('');
    const lines = jsonl.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as ScanReport);
    expect(lines.map((r) => r.domain).sort()).toEqual(['broken.test', 'good.test', 'slow.test']);
    const grades = Object.fromEntries(lines.map((r) => [r.domain, r.posture.grade]));
    expect(grades).toEqual({ 'good.test': 'A+', 'broken.test': 'F', 'slow.test': null });

    expect(csv.code).toBe(0);
    const rows = csv.stdout.trimEnd().split('\r\n');
    expect(rows[0]).toBe(
      'domain,grade,score,partial,unknown_checks,mx,spf,dkim,dmarc,mta_sts,tls_rpt,bimi,critical,high,medium,low,info,finding_codes,dns_queries,duration_ms,error',
    );
    const byDomain = Object.fromEntries(rows.slice(1).map((r) => [r.split(',')[0], r.split(',')]));
    expect(Object.keys(byDomain).sort()).toEqual(['broken.test', 'good.test', 'slow.test']);
    expect(byDomain['good.test']?.slice(1, 12)).toEqual([
      'A+',
      '100',
      'false',
      '',
      'ok',
      'ok',
      'ok',
      'ok',
      'ok',
      'ok',
      'findings',
    ]);
    expect(byDomain['slow.test']?.slice(1, 5)).toEqual([
      '',
      '',
      'true',
      'mx spf dkim dmarc mta_sts tls_rpt bimi',
    ]);
    expect(byDomain['broken.test']?.[12]).toBe('1'); // one critical: spf.pass_all
  });

  it('should give the same reports from scan threads as from one thread', async () => {
    const file = join(dir, 'threads.txt');
    writeFileSync(file, 'good.test\nbroken.test\nslow.test\n');
    const [one, three] = await Promise.all([
      scan('--file', file, '--threads', '1', '--fail-on', 'critical'),
      scan('--file', file, '--threads', '3', '--concurrency', '3', '--fail-on', 'critical'),
    ]);
    const summary = (stdout: string) =>
      stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as ScanReport)
        .map((r) => ({ domain: r.domain, grade: r.posture.grade, statuses: statuses(r), codes: codes(r) }))
        .sort((a, b) => a.domain.localeCompare(b.domain));
    expect([one.code, three.code]).toEqual([1, 1]);
    expect(three.stderr).toBe('');
    expect(summary(three.stdout)).toEqual(summary(one.stdout));
    expect(summary(three.stdout).map((r) => r.grade)).toEqual(['F', 'A+', null]);
  });

  it('should take its settings from DNS_SERVERS, PROBE_ALLOW_CIDRS and TLS_EXTRA_CA_FILE', async () => {
    const run = await runCli(['scan', 'good.test', '--json', '--dkim-selector', DKIM_SELECTOR], {
      DNS_SERVERS: dns.address,
      PROBE_ALLOW_CIDRS: '127.0.0.0/8',
      TLS_EXTRA_CA_FILE: caFile,
    });
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as ScanReport).posture.grade).toBe('A+');
  });

  it('should refuse bad input with a clear message on stderr and exit code 2, scanning nothing', async () => {
    dns.clearLog();
    const missing = join(dir, 'no-such-file.txt');
    const badList = join(dir, 'bad-list.txt');
    writeFileSync(badList, 'good.test\nnot a domain\n192.0.2.1\n');
    const cases: [string[], RegExp][] = [
      [['not a domain'], /not a domain name: "not a domain"/],
      [['good.test', 'other.test'], /one domain per scan/],
      [[], /missing domain/],
      [['good.test', '--fail-on', 'severe'], /--fail-on: expected one of info, low, medium, high, critical/],
      [['good.test', '--checks', 'spf,dane'], /--checks: unknown check "dane"/],
      [['good.test', '--timeout-ms', '0'], /--timeout-ms: expected a whole number/],
      [['good.test', '--dns-server', 'resolver.example'], /--dns-server: bad DNS server/],
      [['good.test', '--allow-cidr', '127.0.0.1/8'], /--allow-cidr: .*host bits/],
      [['good.test', '--ca-file', missing], /--ca-file ".*no-such-file.txt" cannot be read \(ENOENT\)/],
      [['good.test', '--ca-file', badList], /holds no PEM certificate/],
      [['--file', missing], /--file ".*" cannot be read \(ENOENT\)/],
      [
        ['--file', badList],
        /line 2: not a domain name: "not a domain"[\s\S]*line 3: not a domain name: "192.0.2.1"/,
      ],
      [['good.test', '--format', 'csv'], /--format applies to --file/],
      [['good.test', '--frobnicate'], /Unknown option '--frobnicate'/],
    ];
    const runs = await Promise.all(
      cases.map(([args]) => runCli(['scan', ...args, '--dns-server', dns.address])),
    );
    runs.forEach((run, i) => {
      const [args, message] = cases[i] as [string[], RegExp];
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stdout, args.join(' ')).toBe('');
      expect(run.stderr, args.join(' ')).toMatch(message);
    });
    expect(dns.queryLog).toEqual([]);
  });
});

/**
 * Hostile DNS through the full scan: the real DNS client of libs/net asks the loopback
 * authoritative server, which misbehaves the ways attackers and broken zones do. Each case must
 * end in a finding or an `unknown` result for the check it hits — never a thrown error, a crash
 * or a hang — and leave the other checks of the same scan untouched.
 */
import { type CheckResult, type ScanReport, scanDomain } from '@mailwarden/checks';
import { createDnsClient, type DnsClient } from '@mailwarden/net';
import { startDnsServer, type TestDnsServer } from '@mailwarden/testing/dns-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Every hostile scan must be over well within this (timeouts are 300 ms per attempt). */
const SCAN_BUDGET_MS = 5_000;

let server: TestDnsServer;
let udpOnly: TestDnsServer;
let client: DnsClient;
let udpOnlyClient: DnsClient;

beforeAll(async () => {
  server = await startDnsServer({
    host: '127.77.1.53',
    zones: {
      test: {
        records: {
          '_dmarc.cname.test': { CNAME: ['a.cname.test'] },
          'a.cname.test': { CNAME: ['_dmarc.cname.test'] },
          'cname.test': { TXT: ['v=spf1 -all'] },
          'incl.test': { TXT: ['v=spf1 include:a.incl.test -all'] },
          'a.incl.test': { TXT: ['v=spf1 include:incl.test -all'] },
          'huge.test': { TXT: ['placeholder'] },
          'ptr.test': { TXT: ['v=spf1 -all'] },
          '_dmarc.ptr.test': { TXT: ['v=DMARC1; p=reject'] },
        },
      },
    },
  });
  // 10 000 character-strings of 4 bytes in one TXT record: ~50 KB, over every cap we have.
  server.setFault('huge.test', { kind: 'huge', strings: 10_000, type: 'TXT' });
  server.setFault('_dmarc.ptr.test', { kind: 'pointer_loop', variant: 'forward', type: 'TXT' });
  udpOnly = await startDnsServer({
    host: '127.77.1.54',
    tcp: false,
    zones: { test: { records: { 'tc.test': { TXT: ['v=spf1 -all'] } } } },
  });
  udpOnly.setFault('tc.test', { kind: 'truncate', type: 'TXT' });
  client = createDnsClient({ servers: [{ host: server.host, port: server.port }], timeoutMs: 300 });
  udpOnlyClient = createDnsClient({ servers: [{ host: udpOnly.host, port: udpOnly.port }], timeoutMs: 300 });
});

afterAll(async () => {
  client?.close();
  udpOnlyClient?.close();
  await Promise.all([server?.close(), udpOnly?.close()]);
});

async function scan(domain: string, resolver: DnsClient = client): Promise<ScanReport> {
  const started = performance.now();
  const report = await scanDomain(domain, {
    resolver,
    fetchPolicy: async () => ({ status: 'error', reason: 'ssrf_refused', detail: 'no fetch in this test' }),
    fetchResource: async () => ({ status: 'error', reason: 'ssrf_refused', detail: 'no fetch in this test' }),
    dkimSelectors: ['mw1'],
  });
  expect(performance.now() - started).toBeLessThan(SCAN_BUDGET_MS);
  expect(report.results).toHaveLength(7);
  return report;
}

const result = (report: ScanReport, check: string) =>
  report.results.find((r) => r.check === check) as unknown as CheckResult<Record<string, unknown>>;
const codes = (r: CheckResult<unknown>) => r.findings.map((f) => f.code);

describe('hostile DNS through a full scan', () => {
  it('a CNAME loop at _dmarc ends DMARC as unknown (cname_loop)', async () => {
    const report = await scan('cname.test');
    const dmarc = result(report, 'dmarc');
    expect(dmarc.status).toBe('unknown');
    expect(dmarc.findings.find((f) => f.code === 'dmarc.lookup_unknown')?.evidence).toMatchObject({
      name: '_dmarc.cname.test',
      reason: 'cname_loop',
    });
    expect(result(report, 'spf').status).toBe('ok');
  });

  it('an SPF include loop is a finding that names the loop', async () => {
    const report = await scan('incl.test');
    const spf = result(report, 'spf');
    expect(spf.status).toBe('findings');
    expect(codes(spf)).toContain('spf.include_loop');
  });

  it('a TXT record of 10 000 strings ends SPF as unknown (too large), not as "no SPF"', async () => {
    const report = await scan('huge.test');
    const spf = result(report, 'spf');
    expect(spf.status).toBe('unknown');
    expect(codes(spf)).toEqual(['spf.lookup_unknown']);
    expect(spf.facts.unknownLookups).toEqual([
      expect.objectContaining({ name: 'huge.test', reason: 'too_large' }),
    ]);
    expect(report.posture.unknownChecks).toContain('spf');
  });

  it('a truncated answer from a server without TCP ends SPF as unknown (truncated)', async () => {
    const report = await scan('tc.test', udpOnlyClient);
    const spf = result(report, 'spf');
    expect(spf.status).toBe('unknown');
    expect(spf.facts.unknownLookups).toEqual([
      expect.objectContaining({ name: 'tc.test', reason: 'truncated' }),
    ]);
    expect(codes(spf)).not.toContain('spf.missing');
  });

  it('a compression-pointer loop ends DMARC as unknown (malformed)', async () => {
    const report = await scan('ptr.test');
    const dmarc = result(report, 'dmarc');
    expect(dmarc.status).toBe('unknown');
    expect(dmarc.findings.find((f) => f.code === 'dmarc.lookup_unknown')?.evidence).toMatchObject({
      name: '_dmarc.ptr.test',
      reason: 'malformed',
    });
    expect(codes(dmarc)).not.toContain('dmarc.missing');
    expect(result(report, 'spf').status).toBe('ok');
  });
});

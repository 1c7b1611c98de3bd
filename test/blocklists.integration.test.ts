/**
 * Blocklists over the wire: a test DNSBL zone and a domain blocklist zone served by the loopback
 * authoritative DNS server (UDP+TCP), asked through libs/net's DNS client exactly as the worker
 * and the CLI ask. Listed, unlisted and error-code answers, TXT reasons, IPv6 nibble queries, the
 * TTL cache shared by every check that uses the client (so tenants sharing an MX share answers),
 * and a listing that appears and goes away. Nothing leaves 127.0.0.0/8.
 */
import {
  type BlocklistZone,
  checkBlocklists,
  ipQueryName,
  parseDomainBlocklists,
  parseIpBlocklists,
  scanDomain,
} from '@mailwarden/checks';
import { manualClock } from '@mailwarden/core';
import { createDnsClient, type DnsClient, parseDnsServer } from '@mailwarden/net';
import { startDnsServer, type TestDnsServer } from '@mailwarden/testing/dns-server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from './scan-fixtures.ts';

const DNS_HOST = '127.77.8.53';
const MX_V4 = '192.0.2.10';
const MX_V6 = '2001:db8::25';
const CLEAN_V4 = '192.0.2.11';
const REFUSED_V4 = '192.0.2.12';
const V6_QUERY = ipQueryName(MX_V6, 'bl.test') as string;

function parsed(text: string, parse: typeof parseIpBlocklists): BlocklistZone[] {
  const result = parse(text);
  if (!result.ok) throw new Error(result.errors.join('; '));
  return result.lists;
}
const IP_LISTS = parsed(
  'bl.test=127.0.0.2:spam source|127.0.0.4:exploited host|127.255.255.254:!public resolver',
  parseIpBlocklists,
);
const DOMAIN_LISTS = parsed(
  'dbl.test=127.0.1.2:spam domain|127.0.1.4:phish domain,uri.test=&127.0.0.2:black|&127.0.0.4:grey|127.0.0.1:!query refused',
  parseDomainBlocklists,
);

let dns: TestDnsServer;
let clock: ReturnType<typeof manualClock>;
let client: DnsClient;

beforeAll(async () => {
  dns = await startDnsServer({
    host: DNS_HOST,
    zones: {
      'bl.test': {
        ttl: 600,
        records: {
          '10.2.0.192.bl.test': {
            A: ['127.0.0.2'],
            TXT: ['Spam source; see https://bl.test/lookup?ip=192.0.2.10'],
          },
          [V6_QUERY]: { A: ['127.0.0.4'], TXT: ['Exploited host (IPv6)'] },
          '12.2.0.192.bl.test': { A: ['127.255.255.254'] },
        },
      },
      'dbl.test': {
        records: {
          'spam.example.dbl.test': { A: ['127.0.1.2'], TXT: ['https://dbl.test/lookup/spam.example'] },
        },
      },
      'uri.test': {
        records: {
          'spam.example.uri.test': { A: ['127.0.0.6'] },
          'refused.example.uri.test': { A: ['127.0.0.1'] },
        },
      },
      example: {
        records: {
          'mailer.example': {
            MX: [{ preference: 10, exchange: 'mx1.mailer.example' }],
            NS: ['ns1.spam.example'],
            TXT: ['v=spf1 -all'],
          },
          'mx1.mailer.example': { A: [MX_V4], AAAA: [MX_V6] },
        },
      },
    },
  });
});

beforeEach(() => {
  clock = manualClock(new Date('2026-05-01T00:00:00Z'));
  client = createDnsClient({ servers: [parseDnsServer(dns.address)], clock, timeoutMs: 500 });
  dns.clearLog();
  return () => client.close();
});

afterAll(async () => {
  await dns?.close();
});

describe('blocklists over the loopback DNS server', () => {
  it('should report IPv4 and IPv6 listings with code meaning and TXT reason, and leave a clean address alone', async () => {
    const result = await checkBlocklists(client, {
      ips: [MX_V4, MX_V6, CLEAN_V4],
      ipLists: IP_LISTS,
      domainLists: [],
    });
    expect(result.facts.listed).toEqual({ [MX_V4]: ['bl.test'], [MX_V6]: ['bl.test'] });
    expect(result.findings.map((f) => [f.code, f.subject, f.evidence.codes, f.evidence.reason])).toEqual([
      [
        'blocklist.ip_listed',
        `${MX_V4} on bl.test`,
        [{ answer: '127.0.0.2', meaning: 'spam source' }],
        'Spam source; see https://bl.test/lookup?ip=192.0.2.10',
      ],
      [
        'blocklist.ip_listed',
        `${MX_V6} on bl.test`,
        [{ answer: '127.0.0.4', meaning: 'exploited host' }],
        'Exploited host (IPv6)',
      ],
    ]);
    // The IPv6 address went out as 32 reversed nibbles (RFC 5782 §2.4).
    expect(V6_QUERY).toBe('5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test');
    expect(dns.queriesFor(V6_QUERY, 'A')).toHaveLength(1);
    expect(dns.queriesFor('11.2.0.192.bl.test', 'TXT')).toHaveLength(0);
  });

  it('should keep an error-code answer unknown and surface it, never listed', async () => {
    const result = await checkBlocklists(client, { ips: [REFUSED_V4], ipLists: IP_LISTS, domainLists: [] });
    expect(result.status).toBe('unknown');
    expect(result.facts.listed).toEqual({});
    expect(result.facts.undetermined).toEqual({ [REFUSED_V4]: ['bl.test'] });
    expect(result.findings).toMatchObject([
      {
        code: 'blocklist.lookup_unknown',
        severity: 'info',
        subject: 'bl.test',
        evidence: {
          lookups: [
            {
              subject: REFUSED_V4,
              detail: '127.255.255.254 (public resolver)',
              answers: ['127.255.255.254'],
            },
          ],
        },
      },
    ]);
  });

  it('should check domains on domain lists, bit-coded and refused answers included', async () => {
    const result = await checkBlocklists(client, {
      domains: ['www.spam.example', 'clean.example', 'refused.example'],
      ipLists: [],
      domainLists: DOMAIN_LISTS,
    });
    expect(result.findings.map((f) => [f.code, f.subject])).toEqual([
      ['blocklist.domain_listed', 'spam.example on dbl.test'],
      ['blocklist.domain_listed', 'spam.example on uri.test'],
      ['blocklist.lookup_unknown', 'uri.test'],
    ]);
    expect(result.findings[0]?.evidence.reason).toBe('https://dbl.test/lookup/spam.example');
    expect(result.findings[1]?.evidence.codes).toEqual([{ answer: '127.0.0.6', meaning: 'black; grey' }]);
  });

  it('should answer a second tenant from the shared TTL cache, and see the delisting once the TTL ran out', async () => {
    const input = { ips: [MX_V4], ipLists: IP_LISTS, domainLists: [] };
    const first = await checkBlocklists(client, input);
    expect(first.findings.map((f) => f.code)).toEqual(['blocklist.ip_listed']);
    const asked = dns.queryLog.length;
    // Another tenant with the same MX, same process: no new question reaches the server.
    const second = await checkBlocklists(client, input);
    expect(second.facts.listed).toEqual(first.facts.listed);
    expect(dns.queryLog.length).toBe(asked);

    dns.setRecords('10.2.0.192.bl.test', 'A', []);
    dns.setRecords('10.2.0.192.bl.test', 'TXT', []);
    // Still cached: the list's own TTL (600 s) decides when we may notice.
    expect((await checkBlocklists(client, input)).facts.listed).toEqual({ [MX_V4]: ['bl.test'] });
    clock.advance(601_000);
    const delisted = await checkBlocklists(client, input);
    expect(delisted.status).toBe('ok');
    expect(delisted.findings).toEqual([]);
    expect(delisted.facts.listed).toEqual({});
    dns.setRecords('10.2.0.192.bl.test', 'A', { ttl: 600, values: ['127.0.0.2'] });
    dns.setRecords('10.2.0.192.bl.test', 'TXT', {
      ttl: 600,
      values: ['Spam source; see https://bl.test/lookup?ip=192.0.2.10'],
    });
  });

  it("should check a scanned domain's MX addresses, MX and NS hosts when asked, over the same client", async () => {
    const report = await scanDomain('mailer.example', {
      resolver: client,
      checks: ['blocklist'],
      blocklists: { ipLists: IP_LISTS, domainLists: DOMAIN_LISTS },
      fetchPolicy: async () => {
        throw new Error('a blocklist scan fetches nothing');
      },
      fetchResource: async () => {
        throw new Error('a blocklist scan fetches nothing');
      },
    });
    expect(report.checks).toEqual(['blocklist']);
    const result = report.results[0];
    expect(result?.findings.map((f) => f.subject)).toEqual([
      `${MX_V4} on bl.test`,
      `${MX_V6} on bl.test`,
      'spam.example on dbl.test',
      'spam.example on uri.test',
    ]);
    expect(result?.findings[2]?.evidence.origins).toEqual(['ns ns1.spam.example']);
  });
});

describe('mailwarden scan with blocklist flags (end to end)', () => {
  it('should leave blocklists out of a plain scan and report listings when asked', async () => {
    const common = ['--dns-server', dns.address, '--timeout-ms', '400', '--json'];
    const plain = await runCli(['scan', 'mailer.example', '--checks', 'mx', ...common]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(JSON.parse(plain.stdout).checks).toEqual(['mx']);
    dns.clearLog();
    const listed = await runCli([
      'scan',
      'mailer.example',
      '--checks',
      'mx',
      '--blocklist-ip',
      'bl.test=127.0.0.2:spam source|127.0.0.4:exploited host|127.255.255.254:!public resolver',
      '--blocklist-domain',
      'none',
      '--sending-ip',
      REFUSED_V4,
      '--fail-on',
      'high',
      ...common,
    ]);
    expect(listed.code, listed.stderr).toBe(1);
    const report = JSON.parse(listed.stdout);
    expect(report.checks).toEqual(['mx', 'blocklist']);
    const blocklist = report.results[1];
    expect(blocklist.facts.listed).toEqual({ [MX_V4]: ['bl.test'], [MX_V6]: ['bl.test'] });
    expect(blocklist.facts.undetermined).toEqual({ [REFUSED_V4]: ['bl.test'] });
    expect(blocklist.findings.map((f: { code: string }) => f.code)).toEqual([
      'blocklist.ip_listed',
      'blocklist.ip_listed',
      'blocklist.lookup_unknown',
    ]);
    expect(dns.queriesFor(V6_QUERY, 'A')).toHaveLength(1);
  });
});

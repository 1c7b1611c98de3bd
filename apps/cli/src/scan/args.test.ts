import { describe, expect, it } from 'vitest';
import type { CliEnvironment } from '../config.ts';
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_DNS_TIMEOUT_MS,
  DEFAULT_FETCH_TIMEOUT_MS,
  parseScanArgs,
} from './args.ts';

const noEnv: CliEnvironment = {
  dnsServers: undefined,
  probeAllowCidrs: undefined,
  tlsExtraCaFile: undefined,
  noColor: false,
};

function settings(args: string[], env: CliEnvironment = noEnv) {
  const parsed = parseScanArgs(args, env);
  if (parsed.kind !== 'scan') throw new Error(`expected settings, got ${JSON.stringify(parsed)}`);
  return parsed.settings;
}

function errors(args: string[], env: CliEnvironment = noEnv): string[] {
  const parsed = parseScanArgs(args, env);
  return parsed.kind === 'error' ? parsed.errors : [];
}

describe(parseScanArgs.name, () => {
  it('should default to every check, resolv.conf, udp and the default timeouts', () => {
    expect(settings(['Example.COM.'])).toMatchObject({
      domain: 'example.com',
      file: null,
      json: false,
      checks: ['mx', 'spf', 'dkim', 'dmarc', 'mta_sts', 'tls_rpt', 'bimi'],
      dkimSelectors: [],
      probeCommonSelectors: undefined,
      failOn: null,
      dnsServers: null,
      dnsTransport: 'udp',
      allow: [],
      caFiles: [],
      dnsTimeoutMs: DEFAULT_DNS_TIMEOUT_MS,
      fetchTimeoutMs: DEFAULT_FETCH_TIMEOUT_MS,
      concurrency: DEFAULT_CONCURRENCY,
      threads: null,
    });
  });

  it('should take repeatable flags and comma lists alike', () => {
    const s = settings([
      'example.com',
      '--checks',
      'dmarc,MTA-STS',
      '--checks',
      'spf',
      '--dkim-selector',
      's1,S2',
      '--dkim-selector',
      's1',
      '--dns-server',
      '127.0.0.1:5353,[::1]:53',
      '--dns-server',
      '127.0.0.2',
      '--allow-cidr',
      '127.0.0.0/8',
      '--fail-on',
      'HIGH',
      '--timeout-ms',
      '250',
    ]);
    expect(s.checks).toEqual(['spf', 'dmarc', 'mta_sts']);
    expect(s.dkimSelectors).toEqual(['s1', 's2']);
    expect(s.dnsServers).toEqual([
      { host: '127.0.0.1', port: 5353 },
      { host: '::1', port: 53 },
      { host: '127.0.0.2', port: 53 },
    ]);
    expect(s.allow.map((c) => c.text)).toEqual(['127.0.0.0/8']);
    expect(s.failOn).toBe('high');
    expect([s.dnsTimeoutMs, s.fetchTimeoutMs]).toEqual([250, 250]);
  });

  it('should fall back to the environment, and let flags win over it', () => {
    const env: CliEnvironment = {
      dnsServers: '127.0.0.9:53',
      probeAllowCidrs: '10.0.0.0/8',
      tlsExtraCaFile: '/etc/ca.pem',
      noColor: false,
    };
    expect(settings(['example.com'], env)).toMatchObject({
      dnsServers: [{ host: '127.0.0.9', port: 53 }],
      caFiles: ['/etc/ca.pem'],
    });
    const flags = settings(
      ['example.com', '--dns-server', '127.0.0.1', '--allow-cidr', '127.0.0.0/8', '--ca-file', 'a.pem'],
      env,
    );
    expect(flags.dnsServers).toEqual([{ host: '127.0.0.1', port: 53 }]);
    expect(flags.allow.map((c) => c.text)).toEqual(['127.0.0.0/8']);
    expect(flags.caFiles).toEqual(['a.pem']);
    expect(errors(['example.com'], { ...env, dnsServers: 'dns.example' })[0]).toMatch(
      /^DNS_SERVERS: bad DNS server/,
    );
    expect(errors(['example.com'], { ...env, probeAllowCidrs: 'everything' })[0]).toMatch(
      /^PROBE_ALLOW_CIDRS: /,
    );
  });

  it('should set up bulk mode with a format and a concurrency', () => {
    expect(
      settings(['--file', 'list.txt', '--format', 'csv', '--concurrency', '8', '--threads', '3']),
    ).toMatchObject({
      domain: null,
      file: 'list.txt',
      format: 'csv',
      concurrency: 8,
      threads: 3,
    });
    expect(errors(['-f', 'list.txt', '--threads', '0'])).toEqual([
      '--threads: expected a whole number from 1 to 64, got "0"',
    ]);
    expect(settings(['-f', '-']).format).toBe('jsonl');
  });

  it('should report every problem at once', () => {
    expect(
      errors([
        'not_a domain',
        '--checks',
        'spf,dnssec',
        '--fail-on',
        'loud',
        '--dkim-selector',
        'bad selector',
        '--dns-transport',
        'quic',
        '--timeout-ms',
        '999999',
        '--concurrency',
        '4',
        '--threads',
        '2',
      ]),
    ).toEqual([
      'not a domain name: "not_a domain"',
      '--checks: unknown check "dnssec" (known: mx, spf, dkim, dmarc, mta_sts, tls_rpt, bimi, blocklist)',
      '--dkim-selector: not a valid selector: "bad selector"',
      '--fail-on: expected one of info, low, medium, high, critical, got "loud"',
      '--dns-transport: expected udp or tcp, got "quic"',
      '--timeout-ms: expected a whole number from 1 to 120000, got "999999"',
      '--concurrency applies to --file bulk scans',
      '--threads applies to --file bulk scans',
    ]);
  });

  it('should refuse ambiguous or missing targets and unknown options', () => {
    expect(errors([])).toEqual(['missing domain (or --file <domains.txt>)']);
    expect(errors(['a.example', '--file', 'x'])).toEqual(['give either a domain or --file, not both']);
    expect(errors(['a.example', 'b.example'])[0]).toMatch(/one domain per scan/);
    expect(errors(['a.example', '--nope'])[0]).toMatch(/Unknown option '--nope'/);
    expect(errors(['a.example', '--dns-server', ''])).toEqual([]);
    expect(parseScanArgs(['--help'], noEnv)).toEqual({ kind: 'help' });
  });
});

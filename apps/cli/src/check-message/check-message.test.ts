/**
 * `mailwarden check-message`: arguments, and the command's work in process — a message signed in
 * the test, written to a file, checked through libs/net's DNS client against the loopback DNS
 * server (DKIM key, SPF, DMARC and a domain blocklist zone).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_DOMAIN_BLOCKLISTS, DEFAULT_MESSAGE_MAX_BYTES } from '@mailwarden/checks';
import { createDnsClient, type DnsClient, parseDnsServer } from '@mailwarden/net';
import { startDnsServer, type TestDnsServer } from '@mailwarden/testing/dns-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildMessage,
  createSigner,
  signMessage,
} from '../../../../libs/checks/src/message/message-fixtures.test-helper.ts';
import { renderMessageReport, runCheckMessage } from '../commands/check-message.ts';
import { readCliEnvironment } from '../config.ts';
import { parseCheckMessageArgs } from './args.ts';

const signer = createSigner('sender.test');
let dns: TestDnsServer;
let client: DnsClient;
let dir: string;

beforeAll(async () => {
  dns = await startDnsServer({
    host: '127.77.10.53',
    zones: {
      'sender.test': {
        records: {
          '@': { TXT: ['v=spf1 ip4:192.0.2.1 -all'] },
          'sel1._domainkey': { TXT: [signer.keyRecord] },
          _dmarc: { TXT: ['v=DMARC1; p=quarantine'] },
        },
      },
      'dbl.test': { records: { 'evil.example': { A: ['127.0.1.2'], TXT: ['Spam domain'] } } },
    },
  });
  client = createDnsClient({ servers: [parseDnsServer(dns.address)], timeoutMs: 500 });
  dir = mkdtempSync(join(tmpdir(), 'mw-check-message-'));
});

afterAll(async () => {
  client?.close();
  await dns?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function settingsFor(args: string[], env: Record<string, string> = {}) {
  const parsed = parseCheckMessageArgs(args, readCliEnvironment(env));
  if (parsed.kind !== 'check') throw new Error(JSON.stringify(parsed));
  return parsed.settings;
}

describe(parseCheckMessageArgs.name, () => {
  it('should default to the default domain lists and the envelope left out', () => {
    expect(settingsFor(['m.eml'])).toMatchObject({
      file: 'm.eml',
      json: false,
      clientIp: undefined,
      domainLists: DEFAULT_DOMAIN_BLOCKLISTS,
      maxBytes: DEFAULT_MESSAGE_MAX_BYTES,
      dnsServers: null,
    });
    expect(settingsFor(['-', '--blocklist-domain', 'none', '--blocklist-ip', 'none'])).toMatchObject({
      file: '-',
      domainLists: [],
      ipLists: [],
    });
  });

  it('should report every bad argument at once', () => {
    expect(
      parseCheckMessageArgs(
        ['--client-ip', 'mail.example', '--dns-transport', 'quic', '--max-bytes', '0'],
        readCliEnvironment({ BLOCKLISTS_DOMAIN: 'bad zone' }),
      ),
    ).toEqual({
      kind: 'error',
      errors: [
        'give one message file (.eml), or - for standard input',
        '--client-ip: not an IP address: "mail.example"',
        '--dns-transport: expected udp or tcp, got "quic"',
        'BLOCKLISTS_DOMAIN: not a DNS zone: "bad zone"',
        `--max-bytes: expected a whole number from 1 to ${50 * 1024 * 1024}, got "0"`,
      ],
    });
  });
});

describe(runCheckMessage.name, () => {
  it('should check a file over the loopback DNS server and flag a blocklisted link', async () => {
    const file = join(dir, 'listed.eml');
    writeFileSync(
      file,
      await signMessage(
        buildMessage({
          from: 'alice@sender.test',
          returnPath: 'bounce@sender.test',
          text: 'Cheap: https://www.evil.example/offer',
        }),
        signer,
      ),
    );
    const settings = settingsFor([
      file,
      '--client-ip',
      '192.0.2.1',
      '--blocklist-domain',
      'dbl.test=127.0.1.2:spam domain',
      '--blocklist-ip',
      'none',
    ]);
    const outcome = await runCheckMessage(settings, client);
    if (!('report' in outcome)) throw new Error(outcome.error);
    expect(outcome.report).toMatchObject({
      verdict: 'fail',
      reasons: ['blocklist.domain_listed'],
      authentication: { spf: { result: 'pass' }, dmarc: { result: 'pass', policy: 'quarantine' } },
    });
    const text = renderMessageReport(outcome.report);
    expect(text).toMatch(/^verdict: FAIL \(blocklist\.domain_listed\)\n/);
    expect(text).toContain('DKIM   pass  d=sender.test s=sel1 (aligned)');
    expect(text).toContain('blocklist.domain_listed · evil.example on dbl.test');
    expect(text).toMatch(/fix: .+/);
    expect(dns.queriesFor('sel1._domainkey.sender.test', 'TXT')).toHaveLength(1);
  });

  it('should pass a clean message and refuse unreadable or oversized files', async () => {
    const file = join(dir, 'clean.eml');
    writeFileSync(
      file,
      await signMessage(buildMessage({ from: 'alice@sender.test', text: 'Hello' }), signer),
    );
    const clean = await runCheckMessage(
      settingsFor([file, '--blocklist-domain', 'dbl.test', '--blocklist-ip', 'none']),
      client,
    );
    expect('report' in clean && clean.report.verdict).toBe('pass');
    expect(await runCheckMessage(settingsFor([join(dir, 'missing.eml')]), client)).toEqual({
      error: `${JSON.stringify(join(dir, 'missing.eml'))} cannot be read (ENOENT)`,
    });
    const small = await runCheckMessage(settingsFor([file, '--max-bytes', '100']), client);
    expect('error' in small && small.error).toMatch(/at most 100 are checked \(--max-bytes\)$/);
  });
});

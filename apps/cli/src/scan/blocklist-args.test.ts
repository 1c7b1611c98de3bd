import {
  DEFAULT_DOMAIN_BLOCKLISTS,
  DEFAULT_IP_BLOCKLISTS,
  formatBlocklist,
  SCAN_CHECKS,
} from '@mailwarden/checks';
import { describe, expect, it } from 'vitest';
import { type CliEnvironment, readCliEnvironment } from '../config.ts';
import { parseScanArgs } from './args.ts';

const noEnv: CliEnvironment = readCliEnvironment({});

function settings(args: string[], env: CliEnvironment = noEnv) {
  const parsed = parseScanArgs(args, env);
  if (parsed.kind !== 'scan') throw new Error(`expected settings, got ${JSON.stringify(parsed)}`);
  return parsed.settings;
}

describe('scan blocklist flags', () => {
  it('should leave blocklists out of a plain scan, even with BLOCKLISTS_* set', () => {
    const env = readCliEnvironment({ BLOCKLISTS_IP: 'bl.example.net' });
    expect(env.blocklistsIp).toBe('bl.example.net');
    const s = settings(['example.com'], env);
    expect(s.blocklists).toBeNull();
    expect(s.checks).toEqual([...SCAN_CHECKS]);
  });

  it('should enable the check with --blocklist-ip, taking the other kind from the environment or the default set', () => {
    const s = settings([
      'example.com',
      '--blocklist-ip',
      'bl.test=127.0.0.2:spam|127.0.0.1:!refused',
      '--blocklist-ip',
      'plain.test',
      '--sending-ip',
      '192.0.2.7,2001:db8::7',
    ]);
    expect(s.checks).toEqual([...SCAN_CHECKS, 'blocklist']);
    expect(s.blocklists?.ipLists.map(formatBlocklist)).toEqual([
      'bl.test=127.0.0.2:spam|127.0.0.1:!refused',
      'plain.test',
    ]);
    expect(s.blocklists?.domainLists).toEqual(DEFAULT_DOMAIN_BLOCKLISTS);
    expect(s.blocklists?.sendingIps).toEqual(['192.0.2.7', '2001:db8::7']);
    const fromEnv = settings(
      ['example.com', '--blocklist-domain', 'none'],
      readCliEnvironment({ BLOCKLISTS_IP: 'env.test' }),
    );
    expect(fromEnv.blocklists?.ipLists.map((l) => l.zone)).toEqual(['env.test']);
    expect(fromEnv.blocklists?.domainLists).toEqual([]);
  });

  it('should run the default sets with --checks blocklist alone', () => {
    const s = settings(['example.com', '--checks', 'blocklist']);
    expect(s.checks).toEqual(['blocklist']);
    expect(s.blocklists?.ipLists).toEqual(DEFAULT_IP_BLOCKLISTS);
  });

  it('should report bad lists and addresses with the flag or variable that held them', () => {
    const parsed = parseScanArgs(
      ['example.com', '--blocklist-ip', 'bl.test=10.0.0.2:private', '--sending-ip', 'mail.example'],
      readCliEnvironment({ BLOCKLISTS_DOMAIN: 'dbl.test=127.0.1.2' }),
    );
    expect(parsed).toEqual({
      kind: 'error',
      errors: [
        '--sending-ip: not an IP address: "mail.example"',
        '--blocklist-ip: bl.test: 10.0.0.2 lies outside 127.0.0.0/8, where no list answers (RFC 5782 §2.1)',
        'BLOCKLISTS_DOMAIN: dbl.test: entry "127.0.1.2" is not <code>:<meaning>',
      ],
    });
  });
});

/**
 * Our validator against a real one: BIND's `delv` (Debian package bind9-dnsutils) validates the
 * same signed zones, served by the same test DNS server, from the same test trust anchor, and
 * the verdicts must agree (secure = "fully validated", insecure = "unsigned answer", bogus =
 * "resolution failed"). `.ci/run` installs bind9-dnsutils.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createDnssecValidator, type DnssecValidator, parseTrustAnchors } from '@mailwarden/checks';
import { createDnsClient, type DnsClient } from '@mailwarden/net';
import { startDnsServer, type TestDnsServer } from '@mailwarden/testing/dns-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTree, standardCases, VERDICT_CASES } from './dnssec-fixtures.ts';

const run = promisify(execFile);
let server: TestDnsServer;
let client: DnsClient;
let validator: DnssecValidator;
let dir: string;
let anchorFile: string;

beforeAll(async () => {
  const tree = buildTree(standardCases());
  server = await startDnsServer({ host: '127.0.0.63', zones: tree.zones });
  client = createDnsClient({ servers: [{ host: server.host, port: server.port }], cache: false });
  validator = createDnssecValidator(client, { trustAnchors: parseTrustAnchors(tree.anchorText).anchors });
  // delv reads BIND's trust-anchors syntax (named.conf(5)).
  const statements = tree.anchorText.split('\n').map((line) => {
    const [, , , , tag, algorithm, digestType, digest] = line.split(/\s+/);
    return `  . static-ds ${tag} ${algorithm} ${digestType} "${digest}";`;
  });
  dir = mkdtempSync(join(tmpdir(), 'mw-delv-'));
  anchorFile = join(dir, 'anchors.conf');
  writeFileSync(anchorFile, `trust-anchors {\n${statements.join('\n')}\n};\n`);
});

afterAll(async () => {
  client?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function delv(name: string, type: string): Promise<string> {
  const args = [
    `@${server.host}`,
    '-p',
    String(server.port),
    '-a',
    anchorFile,
    '+root',
    '+nottl',
    name,
    type,
  ];
  // Async on purpose: the DNS server answering delv runs in this very process.
  const out = await run('delv', args, { encoding: 'utf8', timeout: 15_000 }).catch(
    (err: { stdout?: string; stderr?: string }) => ({ stdout: err.stdout ?? '', stderr: err.stderr ?? '' }),
  );
  const text = `${out.stdout}\n${out.stderr}`;
  if (/; (negative response, )?fully validated/.test(text)) return 'secure';
  if (/; (negative response, )?unsigned answer/.test(text)) return 'insecure';
  if (/resolution failed/.test(text)) return 'bogus';
  return `unparsed: ${text}`;
}

describe('DNSSEC verdicts against delv', () => {
  it.each(VERDICT_CASES)('%s %s: delv and we should agree (%s)', async (name, type, expected) => {
    const [ours, theirs] = await Promise.all([validator.query(name, type), delv(name, type)]);
    expect({ ours: ours.verdict.verdict, theirs }).toEqual({ ours: expected, theirs: expected });
  });
});

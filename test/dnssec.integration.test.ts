/**
 * DNSSEC validation end to end on loopback: zones signed by the tests (test/dnssec-fixtures.ts),
 * served by the test DNS server, asked through the real DNS client, validated from the test
 * root's trust anchor.
 */
import { createDnssecValidator, type DnssecValidator, parseTrustAnchors } from '@mailwarden/checks';
import { createDnsClient, type DnsClient } from '@mailwarden/net';
import { startDnsServer, type TestDnsServer } from '@mailwarden/testing/dns-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTree, type SignedTree, standardCases, VERDICT_CASES } from './dnssec-fixtures.ts';

let tree: SignedTree;
let server: TestDnsServer;
let client: DnsClient;
let validator: DnssecValidator;

beforeAll(async () => {
  tree = buildTree(standardCases());
  server = await startDnsServer({ host: '127.0.0.61', zones: tree.zones });
  client = createDnsClient({
    servers: [{ host: server.host, port: server.port }],
    cache: false,
    timeoutMs: 2000,
  });
  const { anchors, errors } = parseTrustAnchors(tree.anchorText);
  expect(errors).toEqual([]);
  validator = createDnssecValidator(client, { trustAnchors: anchors });
});

afterAll(async () => {
  client?.close();
  await server?.close();
});

describe('createDnssecValidator', () => {
  it('should validate a secure MX answer from the root down', async () => {
    const { verdict } = await validator.query('secure.test', 'MX');
    expect(verdict.verdict).toBe('secure');
    expect(verdict.chain?.links.map((l) => [l.zone, l.verdict])).toEqual([
      ['.', 'secure'],
      ['test', 'secure'],
      ['secure.test', 'secure'],
    ]);
  });

  it.each(VERDICT_CASES)('%s %s should be %s', async (name, type, expected, more) => {
    const { result, verdict } = await validator.query(name, type);
    expect(result.status).not.toBe('unknown');
    expect(verdict).toMatchObject({ verdict: expected, ...more });
  });
});

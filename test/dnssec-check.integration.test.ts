/**
 * The DNSSEC and DANE checks end to end: signed fixture zones on the test DNS server, the real
 * DNS client, findings as the worker would store them.
 */
import {
  checkDane,
  checkDnssec,
  createDnssecValidator,
  type DnssecValidator,
  parseTrustAnchors,
  type TrustAnchor,
} from '@mailwarden/checks';
import { createDnsClient, type DnsClient } from '@mailwarden/net';
import { startDnsServer, type TestDnsServer } from '@mailwarden/testing/dns-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTree, standardCases } from './dnssec-fixtures.ts';

let server: TestDnsServer;
let client: DnsClient;
let anchors: TrustAnchor[];
let validator: DnssecValidator;

beforeAll(async () => {
  const tree = buildTree(standardCases());
  server = await startDnsServer({ host: '127.0.0.64', zones: tree.zones });
  client = createDnsClient({
    servers: [{ host: server.host, port: server.port }],
    cache: false,
    timeoutMs: 500,
    attempts: 1,
  });
  anchors = parseTrustAnchors(tree.anchorText).anchors;
  validator = createDnssecValidator(client, { trustAnchors: anchors });
});

afterAll(async () => {
  client?.close();
  await server?.close();
});

const codes = (r: { findings: { code: string }[] }) => r.findings.map((f) => f.code).sort();

describe(checkDnssec.name, () => {
  it('should pass a secure domain and its MX host, with the chain and the denial kind in the facts', async () => {
    const r = await checkDnssec(client, 'secure.test', {
      mxHosts: ['mx.secure.test'],
      trustAnchors: anchors,
    });
    expect(r.status).toBe('ok');
    expect(r.facts.subjects.map((s) => [s.name, s.verdict, s.zone])).toEqual([
      ['secure.test', 'secure', 'secure.test'],
      ['mx.secure.test', 'secure', 'secure.test'],
    ]);
    expect(r.facts.subjects[0]?.chain.map((l) => l.zone)).toEqual(['.', 'test', 'secure.test']);
    expect(r.facts.zones).toEqual([
      { zone: 'secure.test', algorithms: ['ECDSAP256SHA256'], denial: { via: 'nsec' } },
    ]);
  });

  it('should report an unsigned zone once, with the proof', async () => {
    const r = await checkDnssec(client, 'unsigned.test', { mxHosts: ['mx.unsigned.test'], validator });
    expect(codes(r)).toEqual(['dnssec.unsigned']);
    expect(r.findings[0]).toMatchObject({ subject: 'unsigned.test', evidence: { proof: 'nsec3_opt_out' } });
  });

  it('should report the zone of an MX host separately from the domain', async () => {
    const r = await checkDnssec(client, 'secure.test', { mxHosts: ['mx.island.secure.test'], validator });
    expect(r.findings).toMatchObject([
      { code: 'dnssec.unsigned', subject: 'island.secure.test', evidence: { proof: 'nsec_no_ds' } },
    ]);
  });

  it('should report bogus with the reason', async () => {
    const r = await checkDnssec(client, 'expired.test', { validator });
    expect(r.findings).toMatchObject([
      { code: 'dnssec.bogus', severity: 'critical', evidence: { reason: 'signature_expired' } },
    ]);
    const ds = await checkDnssec(client, 'dsmismatch.test', { validator });
    expect(ds.findings).toMatchObject([{ code: 'dnssec.bogus', evidence: { reason: 'ds_digest_mismatch' } }]);
  });

  it('should warn about signatures expiring within the configured days', async () => {
    const soon = await checkDnssec(client, 'expiring.test', { validator });
    expect(soon.findings).toMatchObject([{ code: 'dnssec.signature_expiring', subject: 'expiring.test' }]);
    const relaxed = await checkDnssec(client, 'expiring.test', { validator, expiringDays: 1 });
    expect(relaxed.findings).toEqual([]);
    const strict = await checkDnssec(client, 'secure.test', { validator, expiringDays: 60 });
    expect(codes(strict)).toEqual(['dnssec.signature_expiring']);
  });

  it('should flag SHA-1 algorithms and NSEC3 iterations', async () => {
    const r = await checkDnssec(client, 'weak.test', { validator });
    expect(codes(r)).toEqual(['dnssec.nsec3_iterations', 'dnssec.weak_algorithm']);
    expect(r.findings.find((f) => f.code === 'dnssec.nsec3_iterations')?.evidence).toMatchObject({
      iterations: 10,
      saltLength: 2,
    });
    const many = await checkDnssec(client, 'manyiter.test', { validator });
    expect(many.findings).toMatchObject([
      { code: 'dnssec.nsec3_iterations', evidence: { iterations: 200, overValidatorCap: true } },
    ]);
  });

  it('should call a zone with only unsupported DS algorithms unsupported, not bogus', async () => {
    const r = await checkDnssec(client, 'unsupportedds.test', { validator });
    expect(codes(r)).toEqual(['dnssec.unsupported_algorithm']);
  });

  it('should end as unknown, never as a verdict, when a lookup fails', async () => {
    server.setFault('mx.nsec3.test', { kind: 'rcode', rcode: 2, type: 'A' });
    try {
      const r = await checkDnssec(client, 'nsec3.test', { mxHosts: ['mx.nsec3.test'], validator });
      expect(r.status).toBe('unknown');
      expect(codes(r)).toEqual(['dnssec.lookup_unknown']);
    } finally {
      server.clearFaults('mx.nsec3.test');
    }
  });
});

describe(checkDane.name, () => {
  it('should judge each MX host of a secure domain', async () => {
    const r = await checkDane(client, 'dane.test', { validator });
    expect(r.facts.mxVerdict).toBe('secure');
    expect(r.facts.hosts.map((h) => [h.host, h.status, h.usableRecords, h.rolloverReady])).toEqual([
      ['mx.dane.test', 'secure', 2, true],
      ['mx2.dane.test', 'secure', 1, false],
      ['mx3.dane.test', 'secure', 0, false],
      ['mx4.dane.test', 'none', 0, false],
    ]);
    expect(r.findings.map((f) => [f.code, f.subject])).toEqual([
      ['dane.no_rollover_record', 'mx2.dane.test'],
      ['dane.pkix_usage', 'mx3.dane.test'],
      ['dane.malformed_tlsa', 'mx3.dane.test'],
      ['dane.no_usable_records', 'mx3.dane.test'],
    ]);
  });

  it('should ignore TLSA records in an unsigned zone, and say so', async () => {
    const r = await checkDane(client, 'danebad.test', { validator });
    expect(r.findings).toMatchObject([{ code: 'dane.tlsa_insecure', subject: 'mx.danebad.test' }]);
  });

  it('should flag secure TLSA behind an insecure MX lookup', async () => {
    const r = await checkDane(client, 'plainmx.test', { validator });
    expect(r.facts.mxVerdict).toBe('insecure');
    expect(r.findings).toMatchObject([{ code: 'dane.mx_insecure', subject: 'mx.dane.test' }]);
  });

  it('should report a bogus TLSA RRset', async () => {
    const r = await checkDane(client, 'tlsabogus.test', { validator });
    expect(r.findings).toMatchObject([
      { code: 'dane.tlsa_bogus', evidence: { reason: 'invalid_signature' } },
    ]);
  });
});

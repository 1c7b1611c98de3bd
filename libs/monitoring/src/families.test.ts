/**
 * The TLS (MX probe) and blocklist families through the recorder: a real SMTP server on 127.0.9.x
 * with a certificate from the test CA, a DNSBL zone on the loopback DNS server. A certificate
 * going bad opens its finding; a host that stops answering is no verdict (nothing resolves) until
 * a second run confirms it; a delisting resolves the listing.
 */

import { parseBlocklists } from '@mailwarden/checks';
import { manualClock } from '@mailwarden/core';
import { type Database, schema, withTenant } from '@mailwarden/db';
import { createDnsClient, type DnsClient, parseAllowList } from '@mailwarden/net';
import { createTestTenant, openTestDatabase } from '@mailwarden/testing/db';
import { startDnsServer, type TestDnsServer } from '@mailwarden/testing/dns-server';
import { startSmtpFixture, type TestSmtpServer } from '@mailwarden/testing/smtp-server';
import { createTestCa, issueCert, type TestCa } from '@mailwarden/testing/tls';
import { and, eq } from 'drizzle-orm';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDomainsService } from './domains.service.ts';
import { runCheckJob } from './run-check-job.ts';
import { createBlocklistFamilyRunner, createTlsFamilyRunner } from './runners.ts';
import { collectDueChecks } from './scheduler.ts';

const DAY_MS = 86_400_000;
const allow = (() => {
  const r = parseAllowList('127.0.0.0/8');
  if (!r.ok) throw new Error('allow list');
  return r.allow;
})();

let pool: pg.Pool;
let db: Database;
let dns: TestDnsServer;
let client: DnsClient;
let ca: TestCa;
const servers: TestSmtpServer[] = [];
const clock = manualClock(new Date());

beforeAll(async () => {
  ({ pool, db } = openTestDatabase());
  dns = await startDnsServer({ host: '127.0.0.1' });
  dns.setZone('test', {});
  client = createDnsClient({
    servers: [{ host: dns.host, port: dns.port }],
    timeoutMs: 300,
    attempts: 1,
    cache: false,
  });
  ca = await createTestCa();
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  client?.close();
  await dns?.close();
  await pool?.end();
});

async function openCodes(tenantId: string, family: 'tls' | 'blocklist') {
  const rows = await withTenant(db, tenantId, (tx) =>
    tx
      .select()
      .from(schema.findings)
      .where(and(eq(schema.findings.family, family), eq(schema.findings.state, 'open'))),
  );
  return rows.map((r) => r.code).sort();
}

async function runFamily(
  name: string,
  family: 'tls' | 'blocklist',
  runners: Parameters<typeof runCheckJob>[1]['runners'],
) {
  clock.advance(7 * 3_600_000);
  const due = (await collectDueChecks(db, clock.now())).filter((p) => p.name === name && p.family === family);
  expect(due).toHaveLength(1);
  return runCheckJob(due[0]!, { db, runners, clock, random: () => 0.5 });
}

describe('TLS family', () => {
  it('should open a certificate finding, hold it through an unreachable run, and resolve it when fixed', async () => {
    const apex = `tlsfam-${Date.now()}.test`;
    const mxName = `mx.${apex}`;
    const expired = await issueCert(ca, {
      names: [mxName],
      notBefore: new Date(Date.now() - 60 * DAY_MS),
      notAfter: new Date(Date.now() - DAY_MS),
    });
    const good = await issueCert(ca, { names: [mxName], notAfter: new Date(Date.now() + 300 * DAY_MS) });
    let server = await startSmtpFixture({
      host: '127.0.9.10',
      name: mxName,
      tls: { cert: expired.chainPem, key: expired.keyPem },
    });
    servers.push(server);
    dns.setZone(apex, {
      records: { '@': { MX: [{ preference: 10, exchange: mxName }] }, mx: { A: ['127.0.9.10'] } },
    });
    const tenant = await createTestTenant(db);
    const domains = createDomainsService({ db, clock, resolver: client });
    const added = await domains.add(tenant.id, apex);
    // TLS probes need a verified domain.
    await withTenant(db, tenant.id, (tx) => tx.update(schema.domains).set({ verifiedAt: clock.now() }));
    const runnerFor = (port: number) => ({
      tls: createTlsFamilyRunner({ resolver: client, allow, port, ca: [ca.certPem], now: () => new Date() }),
    });

    await runFamily(apex, 'tls', runnerFor(server.port));
    expect(await openCodes(tenant.id, 'tls')).toContain('tls.cert_expired');

    // The server goes away: untestable, no verdict — the finding stays open, nothing resolves.
    const port = server.port;
    await server.close();
    await runFamily(apex, 'tls', runnerFor(port));
    expect(await openCodes(tenant.id, 'tls')).toContain('tls.cert_expired');
    const states = await withTenant(db, tenant.id, (tx) => tx.select().from(schema.checkStates));
    expect(states.find((s) => s.check === 'smtp')).toMatchObject({
      status: 'untestable',
      consecutiveUnknown: 1,
    });

    // Back with a valid certificate: the expiry finding resolves.
    server = await startSmtpFixture({
      host: '127.0.9.10',
      name: mxName,
      tls: { cert: good.chainPem, key: good.keyPem },
    });
    servers.push(server);
    await runFamily(apex, 'tls', runnerFor(server.port));
    expect(await openCodes(tenant.id, 'tls')).not.toContain('tls.cert_expired');
    const events = await withTenant(db, tenant.id, (tx) => tx.select().from(schema.monitoringEvents));
    expect(
      events.some(
        (e) =>
          e.type === 'finding.resolved' &&
          (e.payload as { finding: { code: string } }).finding.code === 'tls.cert_expired',
      ),
    ).toBe(true);
    expect(added.id).toMatch(/^dom_/);
  });
});

describe('blocklist family', () => {
  it('should open a listing of a declared sending IP and resolve it on delisting', async () => {
    const apex = `blfam-${Date.now()}.test`;
    dns.setZone(apex, {
      records: {
        '@': { MX: [{ preference: 10, exchange: `mx.${apex}` }], NS: [`ns.${apex}`] },
        mx: { A: ['192.0.2.80'] },
      },
    });
    // A DNSBL zone: 192.0.2.99 listed with a reason; the RFC 5782 test entry 127.0.0.2 listed.
    dns.setZone('bl.test', {
      ttl: 1,
      records: {
        '2.0.0.127': { A: ['127.0.0.2'], TXT: ['test entry'] },
        '99.2.0.192': { A: ['127.0.0.2'], TXT: ['listed for spam'] },
      },
    });
    const lists = parseBlocklists('bl.test', '');
    if (!lists.ok) throw new Error(lists.errors.join('; '));
    const runners = {
      blocklist: createBlocklistFamilyRunner({ resolver: client, ipLists: lists.lists, domainLists: [] }),
    };
    const tenant = await createTestTenant(db);
    const domains = createDomainsService({ db, clock, resolver: client });
    await domains.add(tenant.id, apex, { sendingIps: ['192.0.2.99'] });

    await runFamily(apex, 'blocklist', runners);
    expect(await openCodes(tenant.id, 'blocklist')).toEqual(['blocklist.ip_listed']);

    dns.deleteRecords('99.2.0.192.bl.test');
    await runFamily(apex, 'blocklist', runners);
    expect(await openCodes(tenant.id, 'blocklist')).toEqual([]);
  });
});

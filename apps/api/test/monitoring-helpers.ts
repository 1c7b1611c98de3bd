/**
 * Shared steps of the monitoring API tests: the app pointed at a loopback DNS server (never the
 * system resolver), zones for test domains, and the worker's part of a check run done in-process
 * with the real runner (libs/monitoring `runCheckJob`), so findings, runs and events are real.
 */
import { randomUUID } from 'node:crypto';
import { decodeId, systemClock } from '@mailwarden/core';
import { createDnsFamilyRunner, runCheckJob } from '@mailwarden/monitoring';
import { createDnsClient, type DnsClient, parseAllowList } from '@mailwarden/net';
import { startDnsServer, type TestDnsServer } from '@mailwarden/testing/dns-server';
import { expect } from 'vitest';
import { bearer } from './auth-helpers.ts';
import { buildTestApp, type TestApp } from './helper.ts';

export interface MonitoringTestbed {
  t: TestApp;
  dns: TestDnsServer;
  /** The runner's own client: no cache, so a record changed between runs is seen. */
  client: DnsClient;
  close(): Promise<void>;
}

export async function startMonitoringTestbed(env: Record<string, string> = {}): Promise<MonitoringTestbed> {
  const dns = await startDnsServer({ host: '127.0.0.1' });
  // Authoritative for the parent too, so walks up the tree get real negative answers.
  dns.setZone('test', {});
  dns.setZone('2.0.192.in-addr.arpa', {});
  const t = await buildTestApp({ DNS_SERVERS: `${dns.host}:${dns.port}`, ...env });
  const client = createDnsClient({
    servers: [{ host: dns.host, port: dns.port }],
    timeoutMs: 300,
    attempts: 1,
    cache: false,
  });
  return {
    t,
    dns,
    client,
    async close() {
      await t.close();
      client.close();
      await dns.close();
    },
  };
}

export function uniqueApex(label = 'acme'): string {
  return `${label}-${randomUUID().slice(0, 8)}.test`;
}

/** A zone with MX, SPF and DMARC: `dmarc` decides whether dmarc.policy_none is found. */
export function serveDomain(dns: TestDnsServer, apex: string, dmarc = 'v=DMARC1; p=none') {
  dns.setZone(apex, {
    records: {
      '@': { MX: [{ preference: 10, exchange: `mx.${apex}` }], TXT: ['v=spf1 ip4:192.0.2.25 -all'] },
      mx: { A: ['192.0.2.25'] },
      _dmarc: { TXT: [`${dmarc}; rua=mailto:dmarc@${apex}`] },
    },
  });
}

export async function addDomain(t: TestApp, token: string, name: string, extra: object = {}) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/domains',
    headers: bearer(token),
    payload: { name, ...extra },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as {
    id: string;
    name: string;
    verification: { recordName: string; recordValue: string };
  };
}

const allow = (() => {
  const r = parseAllowList('127.0.0.0/8');
  if (!r.ok) throw new Error('allow list');
  return r.allow;
})();

/**
 * What the worker does for a scan: the dns family of the domain, run and recorded now. Returns the
 * event refs the run produced.
 */
export async function runDnsFamily(
  bed: Pick<MonitoringTestbed, 't' | 'client'>,
  tenantId: string,
  domainId: string,
) {
  const tenant = decodeId('ten', tenantId)!;
  const payloads = await bed.t.container.monitoring.domains.scanNow(tenant, domainId);
  const runners = { dns: createDnsFamilyRunner({ resolver: bed.client, allow, fetchTimeoutMs: 500 }) };
  const events = [];
  for (const payload of payloads.filter((p) => p.family === 'dns')) {
    const summary = await runCheckJob(payload, { db: bed.t.container.db, runners, clock: systemClock });
    expect(summary.stored).toBe(1);
    events.push(...summary.events);
  }
  return events;
}

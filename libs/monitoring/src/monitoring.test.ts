/**
 * Monitoring against the real pieces: the run's Postgres (as the app role, under RLS), the DNS
 * client of libs/net talking to the loopback DNS server, and the real checks. The clock is manual
 * so schedules can be stepped; the DNS cache is off so a record changed between runs is seen.
 */
import { manualClock } from '@mailwarden/core';
import { type Database, schema, withTenant } from '@mailwarden/db';
import { createDnsClient, type DnsClient, parseAllowList } from '@mailwarden/net';
import { createTestTenant, openTestDatabase } from '@mailwarden/testing/db';
import { startDnsServer, type TestDnsServer } from '@mailwarden/testing/dns-server';
import { and, eq, sql } from 'drizzle-orm';
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDomainsService } from './domains.service.ts';
import { verificationValue } from './record-run.ts';
import { runCheckJob } from './run-check-job.ts';
import { createDnsFamilyRunner } from './runners.ts';
import { collectDueChecks } from './scheduler.ts';

const allow = (() => {
  const r = parseAllowList('127.0.0.0/8');
  if (!r.ok) throw new Error('allow list');
  return r.allow;
})();

let pool: pg.Pool;
let db: Database;
let dns: TestDnsServer;
let client: DnsClient;
const clock = manualClock(new Date('2026-11-28T00:00:00Z'));

function zoneFor(apex: string, dmarc: string) {
  return {
    records: {
      '@': {
        MX: [{ preference: 10, exchange: `mx.${apex}` }],
        TXT: ['v=spf1 ip4:192.0.2.25 -all'],
      },
      mx: { A: ['192.0.2.25'] },
      _dmarc: { TXT: [dmarc] },
    },
  };
}

const GOOD_DMARC = (apex: string) => `v=DMARC1; p=reject; rua=mailto:dmarc@${apex}`;

beforeAll(async () => {
  ({ pool, db } = openTestDatabase());
  dns = await startDnsServer({ host: '127.0.0.1' });
  // Authoritative for the parents too, so tree walks and reverse lookups get real negative answers.
  dns.setZone('test', {});
  dns.setZone('2.0.192.in-addr.arpa', {});
  client = createDnsClient({
    servers: [{ host: dns.host, port: dns.port }],
    timeoutMs: 300,
    attempts: 1,
    cache: false,
  });
});

afterAll(async () => {
  client?.close();
  await dns?.close();
  await pool?.end();
});

beforeEach(() => {
  clock.set(new Date(clock.now().getTime() + 86_400_000));
});

function services() {
  const domains = createDomainsService({ db, clock, resolver: client });
  const runners = { dns: createDnsFamilyRunner({ resolver: client, allow, fetchTimeoutMs: 500 }) };
  return { domains, runners };
}

/** Every due job for `names`, run as the worker would. */
async function runDue(names: string[], family = 'dns') {
  const { runners } = services();
  const due = (await collectDueChecks(db, clock.now())).filter(
    (p) => names.includes(p.name) && p.family === family,
  );
  const summaries = [];
  for (const payload of due)
    summaries.push(await runCheckJob(payload, { db, runners, clock, random: () => 0.5 }));
  return { due, summaries };
}

async function addEndpoint(tenantId: string, enabled = true) {
  await withTenant(db, tenantId, (tx) =>
    tx.insert(schema.webhookEndpoints).values({
      id: crypto.randomUUID(),
      tenantId,
      format: 'standard',
      targetCiphertext: 'sealed',
      displayTarget: 'https://hooks.customer.test',
      events: [],
      enabled,
    }),
  );
}

async function eventsOf(tenantId: string, domainId: string) {
  return withTenant(db, tenantId, (tx) =>
    tx
      .select()
      .from(schema.monitoringEvents)
      .where(eq(schema.monitoringEvents.domainId, domainId))
      .orderBy(schema.monitoringEvents.id),
  );
}

async function openFindings(tenantId: string, domainId: string) {
  return withTenant(db, tenantId, (tx) =>
    tx
      .select()
      .from(schema.findings)
      .where(and(eq(schema.findings.domainId, domainId), eq(schema.findings.state, 'open'))),
  );
}

describe('monitoring a domain', () => {
  it('should verify, record findings, raise a regression and resolve it, storing each slot once', async () => {
    const apex = `acme-${Date.now()}.test`;
    dns.setZone(apex, zoneFor(apex, GOOD_DMARC(apex)));
    const tenant = await createTestTenant(db);
    // An endpoint to alert: alerting events are handed back for dispatch (see the test below).
    await addEndpoint(tenant.id);
    const { domains } = services();
    const added = await domains.add(tenant.id, apex.toUpperCase(), { dkimSelectors: ['s1'] });
    expect(added.name).toBe(apex);
    expect(added.verified).toBe(false);
    dns.setRecords(`_mailwarden.${apex}`, 'TXT', [added.verification.recordValue]);

    // First run: the passive family runs at once, and the published token verifies the domain.
    const first = await runDue([apex]);
    expect(first.due).toHaveLength(1);
    expect(first.summaries[0]).toMatchObject({ runs: 1, stored: 1 });
    const shown = await domains.get(tenant.id, added.id);
    expect(shown.verified).toBe(true);
    expect(shown.posture?.score).toBeGreaterThan(0);
    const rowId = (await withTenant(db, tenant.id, (tx) => tx.select().from(schema.domains)))[0]!.id;
    const firstEvents = await eventsOf(tenant.id, rowId);
    expect(firstEvents.map((e) => e.type)).toContain('domain.verified');

    // The same slot again (a redone job) stores nothing.
    const again = await runCheckJob(first.due[0]!, { db, runners: services().runners, clock });
    expect(again).toMatchObject({ stored: 0, skipped: 1, events: [] });

    // Not due again before its interval.
    expect((await runDue([apex])).due).toHaveLength(0);

    // Break DMARC: the next run opens dmarc.policy_none and the posture degrades.
    dns.setRecords(`_dmarc.${apex}`, 'TXT', [`v=DMARC1; p=none; rua=mailto:dmarc@${apex}`]);
    clock.set(new Date(clock.now().getTime() + 2 * 3_600_000));
    const broken = await runDue([apex]);
    expect(broken.summaries[0]!.stored).toBe(1);
    const afterBreak = await eventsOf(tenant.id, rowId);
    const opened = afterBreak.filter(
      (e) =>
        e.type === 'finding.opened' &&
        (e.payload as { finding: { code: string } }).finding.code === 'dmarc.policy_none',
    );
    expect(opened).toHaveLength(1);
    expect(opened[0]!.suppressed).toBeNull();
    expect(broken.summaries[0]!.events.map((e) => e.eventId)).toContain(opened[0]!.id);
    expect(afterBreak.some((e) => e.type === 'posture.degraded')).toBe(true);
    expect((await openFindings(tenant.id, rowId)).map((f) => f.code)).toContain('dmarc.policy_none');

    // Fix it: resolved, and the posture improves back.
    dns.setRecords(`_dmarc.${apex}`, 'TXT', [GOOD_DMARC(apex)]);
    clock.set(new Date(clock.now().getTime() + 2 * 3_600_000));
    await runDue([apex]);
    const afterFix = await eventsOf(tenant.id, rowId);
    const resolved = afterFix.filter((e) => e.type === 'finding.resolved');
    expect(resolved.map((e) => (e.payload as { finding: { code: string } }).finding.code)).toContain(
      'dmarc.policy_none',
    );
    expect(afterFix.some((e) => e.type === 'posture.improved')).toBe(true);
    expect((await openFindings(tenant.id, rowId)).map((f) => f.code)).not.toContain('dmarc.policy_none');
    const runs = await withTenant(db, tenant.id, (tx) => tx.select().from(schema.checkRuns));
    expect(runs).toHaveLength(3);
    const history = await withTenant(db, tenant.id, (tx) => tx.select().from(schema.postureHistory));
    expect(history).toHaveLength(3);
    expect(added.id).toMatch(/^dom_/);
  });

  it('should alert on an unknown result only from the second run in a row, and resolve nothing meanwhile', async () => {
    const apex = `flaky-${Date.now()}.test`;
    dns.setZone(apex, zoneFor(apex, `v=DMARC1; p=none; rua=mailto:dmarc@${apex}`));
    const tenant = await createTestTenant(db);
    const { domains } = services();
    await domains.add(tenant.id, apex);
    await runDue([apex]);
    const rowId = (await withTenant(db, tenant.id, (tx) => tx.select().from(schema.domains)))[0]!.id;
    expect((await openFindings(tenant.id, rowId)).map((f) => f.code)).toContain('dmarc.policy_none');

    dns.setFault(`_dmarc.${apex}`, { kind: 'rcode', rcode: 2 });
    try {
      clock.set(new Date(clock.now().getTime() + 2 * 3_600_000));
      await runDue([apex]);
      let events = await eventsOf(tenant.id, rowId);
      expect(events.filter((e) => e.type === 'check.untestable')).toHaveLength(0);
      // SERVFAIL is no verdict: the open DMARC finding stays open.
      expect((await openFindings(tenant.id, rowId)).map((f) => f.code)).toContain('dmarc.policy_none');
      expect(events.filter((e) => e.type === 'finding.resolved')).toHaveLength(0);

      clock.set(new Date(clock.now().getTime() + 2 * 3_600_000));
      await runDue([apex]);
      events = await eventsOf(tenant.id, rowId);
      const untestable = events.filter((e) => e.type === 'check.untestable');
      expect(untestable).toHaveLength(1);
      expect((untestable[0]!.payload as { check: string }).check).toBe('dmarc');

      // A third unknown run does not repeat the alert.
      clock.set(new Date(clock.now().getTime() + 2 * 3_600_000));
      await runDue([apex]);
      events = await eventsOf(tenant.id, rowId);
      expect(events.filter((e) => e.type === 'check.untestable')).toHaveLength(1);
    } finally {
      dns.clearFaults(`_dmarc.${apex}`);
    }
  });

  it('should check a name watched by two tenants once and fan the result out to both', async () => {
    const apex = `shared-${Date.now()}.test`;
    dns.setZone(apex, zoneFor(apex, `v=DMARC1; p=none; rua=mailto:dmarc@${apex}`));
    const a = await createTestTenant(db, 'A');
    const b = await createTestTenant(db, 'B');
    const { domains } = services();
    await domains.add(a.id, apex);
    await domains.add(b.id, apex);
    dns.clearLog();
    const { due, summaries } = await runDue([apex]);
    expect(due).toHaveLength(1);
    expect(due[0]!.targets).toHaveLength(2);
    expect(summaries[0]).toMatchObject({ runs: 1, stored: 2 });
    expect(dns.queriesFor(`_dmarc.${apex}`, 'TXT')).toHaveLength(1);
    for (const tenant of [a, b]) {
      const rows = await withTenant(db, tenant.id, (tx) => tx.select().from(schema.findings));
      expect(rows.map((f) => f.code)).toContain('dmarc.policy_none');
      expect(rows.every((f) => f.tenantId === tenant.id)).toBe(true);
    }
  });

  it('should dispatch as written the alerting events of a tenant without an enabled endpoint', async () => {
    const apex = `noendpoint-${Date.now()}.test`;
    dns.setZone(apex, zoneFor(apex, `v=DMARC1; p=none; rua=mailto:dmarc@${apex}`));
    const tenant = await createTestTenant(db);
    await addEndpoint(tenant.id, false);
    const { domains } = services();
    await domains.add(tenant.id, apex);
    const { summaries } = await runDue([apex]);
    const rowId = (await withTenant(db, tenant.id, (tx) => tx.select().from(schema.domains)))[0]!.id;
    const events = await eventsOf(tenant.id, rowId);
    const alerting = events.filter((e) => e.suppressed === null);
    expect(alerting.map((e) => (e.payload as { finding: { code: string } }).finding.code)).toContain(
      'dmarc.policy_none',
    );
    // Nobody to deliver to: dispatched in the same transaction, no dispatch job, nothing pending.
    expect(alerting.every((e) => e.dispatchedAt?.getTime() === clock.now().getTime())).toBe(true);
    expect(summaries[0]!.events).toEqual([]);
    // Every event is still there for live subscribers and the history.
    expect(summaries[0]!.live.map((l) => l.eventId).sort()).toEqual(events.map((e) => e.id).sort());
    // Suppressed events are never dispatched.
    expect(events.filter((e) => e.suppressed !== null).every((e) => e.dispatchedAt === null)).toBe(true);
  });

  it('should suppress alerts below the threshold and during a maintenance window, and keep them in history', async () => {
    const apex = `quiet-${Date.now()}.test`;
    dns.setZone(apex, zoneFor(apex, `v=DMARC1; p=none; rua=mailto:dmarc@${apex}`));
    const tenant = await createTestTenant(db);
    const { domains } = services();
    const added = await domains.add(tenant.id, apex, { alertThreshold: 'critical' });
    await runDue([apex]);
    const rowId = (await withTenant(db, tenant.id, (tx) => tx.select().from(schema.domains)))[0]!.id;
    let events = await eventsOf(tenant.id, rowId);
    const opened = events.filter((e) => e.type === 'finding.opened');
    expect(opened.length).toBeGreaterThan(0);
    expect(opened.every((e) => e.suppressed === 'below_threshold')).toBe(true);

    await domains.update(tenant.id, added.id, { alertThreshold: 'info' });
    await withTenant(db, tenant.id, (tx) =>
      tx.insert(schema.maintenanceWindows).values({
        id: crypto.randomUUID(),
        tenantId: tenant.id,
        domainId: null,
        startsAt: new Date(clock.now().getTime() - 1000),
        endsAt: new Date(clock.now().getTime() + 10 * 3_600_000),
      }),
    );
    dns.setRecords(`_dmarc.${apex}`, 'TXT', [`v=DMARC1; p=reject; rua=mailto:dmarc@${apex}`]);
    clock.set(new Date(clock.now().getTime() + 2 * 3_600_000));
    const { summaries } = await runDue([apex]);
    events = await eventsOf(tenant.id, rowId);
    const resolved = events.filter((e) => e.type === 'finding.resolved');
    expect(resolved.length).toBeGreaterThan(0);
    expect(resolved.every((e) => e.suppressed === 'maintenance')).toBe(true);
    expect(summaries[0]!.events).toEqual([]);
  });
});

describe('domains service', () => {
  it('should refuse bad names, duplicates and adds past the quota, and hide other tenants’ domains', async () => {
    const tenant = await createTestTenant(db);
    const other = await createTestTenant(db);
    const { domains } = services();
    await expect(domains.add(tenant.id, 'not a domain')).rejects.toMatchObject({ code: 'domain_invalid' });
    await expect(domains.add(tenant.id, 'com')).rejects.toMatchObject({ code: 'domain_invalid' });
    await expect(domains.add(tenant.id, 'a.test', { sendingIps: ['300.1.1.1'] })).rejects.toMatchObject({
      code: 'validation_failed',
    });
    const added = await domains.add(tenant.id, 'a.test', { sendingIps: ['192.0.2.1', '2001:DB8::1'] });
    expect(added.sendingIps).toEqual(['192.0.2.1', '2001:db8::1']);
    await expect(domains.add(tenant.id, 'A.test.')).rejects.toMatchObject({ code: 'domain_taken' });
    await expect(domains.get(other.id, added.id)).rejects.toMatchObject({ code: 'not_found' });
    await expect(domains.remove(other.id, added.id)).rejects.toMatchObject({ code: 'not_found' });

    await withTenant(db, tenant.id, (tx) =>
      tx.insert(schema.tenantSettings).values({ tenantId: tenant.id, maxDomains: 2 }),
    );
    await domains.add(tenant.id, 'b.test');
    await expect(domains.add(tenant.id, 'c.test')).rejects.toMatchObject({ code: 'quota_exceeded' });

    // Deleting frees the slot and the name; monitoring stops (no schedules).
    await domains.remove(tenant.id, added.id);
    await expect(domains.get(tenant.id, added.id)).rejects.toMatchObject({ code: 'not_found' });
    const again = await domains.add(tenant.id, 'a.test');
    expect(again.id).not.toBe(added.id);
    const page = await domains.list(tenant.id, { limit: 1 });
    expect(page.items).toHaveLength(1);
    expect(page.nextCursor).not.toBeNull();
    const rest = await domains.list(tenant.id, { cursor: page.nextCursor!, limit: 10 });
    expect([...page.items, ...rest.items].map((d) => d.name).sort()).toEqual(['a.test', 'b.test']);
    expect((await domains.list(tenant.id, { search: 'b.' })).items.map((d) => d.name)).toEqual(['b.test']);
  });

  it('should verify on request only when the token is published', async () => {
    const apex = `verify-${Date.now()}.test`;
    dns.setZone(apex, zoneFor(apex, GOOD_DMARC(apex)));
    const tenant = await createTestTenant(db);
    const { domains } = services();
    const added = await domains.add(tenant.id, apex);
    await expect(domains.verify(tenant.id, added.id)).rejects.toMatchObject({ code: 'verification_failed' });
    dns.setRecords(`_mailwarden.${apex}`, 'TXT', ['unrelated', verificationValue('wrong')]);
    await expect(domains.verify(tenant.id, added.id)).rejects.toMatchObject({ code: 'verification_failed' });
    dns.setRecords(`_mailwarden.${apex}`, 'TXT', [added.verification.recordValue]);
    const verified = await domains.verify(tenant.id, added.id);
    expect(verified.domain.verified).toBe(true);
    expect(verified.eventId).not.toBeNull();
    // The TLS family is due now for this verified domain only.
    const due = await collectDueChecks(db, clock.now());
    expect(due.some((p) => p.name === apex && p.family === 'tls')).toBe(true);
  });

  it('should keep the scheduler functions from leaking rows to a plain tenant transaction', async () => {
    const tenant = await createTestTenant(db);
    const { domains } = services();
    await domains.add(tenant.id, `rls-${Date.now()}.test`);
    // Without a tenant, the app role sees no domains at all — only the definer function reads across.
    const direct = await db.execute(sql`select count(*)::int as n from domains`);
    expect(direct.rows[0]).toEqual({ n: 0 });
    const due = await db.execute(
      sql`select count(*)::int as n from mailwarden_due_checks(now() + interval '400 days', 100000)`,
    );
    expect((due.rows[0] as { n: number }).n).toBeGreaterThan(0);
  });
});

/**
 * Group commit of check runs (run-recorder.ts, record-run.ts) against the run's Postgres as the app
 * role, under RLS: runs handed in together are written in one transaction per tenant, with the
 * same results as one by one; a redone slot stores nothing; one bad run fails alone.
 */
import type { CheckResult, Posture } from '@mailwarden/checks';
import { manualClock } from '@mailwarden/core';
import { type Database, schema, withTenant } from '@mailwarden/db';
import { createTestTenant, openTestDatabase } from '@mailwarden/testing/db';
import { eq } from 'drizzle-orm';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDomainsService } from './domains.service.ts';
import type { FamilyOutcome, RunToRecord } from './record-run.ts';
import { createRunRecorder } from './run-recorder.ts';

let pool: pg.Pool;
let db: Database;
const clock = manualClock(new Date('2027-03-01T00:00:00Z'));

beforeAll(() => {
  ({ pool, db } = openTestDatabase());
});
afterAll(async () => {
  await pool?.end();
});

/** Transactions and one-statement reads both take a pooled connection: count them. */
function countConnections(): { value(): number; stop(): void } {
  let n = 0;
  const listener = () => {
    n++;
  };
  pool.on('acquire', listener);
  return { value: () => n, stop: () => pool.off('acquire', listener) };
}

const posture = (score: number): Posture => ({
  score,
  grade: score >= 90 ? 'A' : 'C',
  partial: false,
  unknownChecks: [],
  notRun: [],
  cappedBy: null,
  checks: [],
});

function outcome(name: string, policy: 'none' | 'reject', score = 70): FamilyOutcome {
  const dmarc: CheckResult<unknown> = {
    check: 'dmarc',
    status: policy === 'none' ? 'findings' : 'ok',
    facts: {},
    findings:
      policy === 'none'
        ? [
            {
              code: 'dmarc.policy_none',
              severity: 'medium',
              subject: name,
              message: 'The DMARC policy is p=none.',
              evidence: { record: `v=DMARC1; p=none; rua=mailto:d@${name}`, policy: 'none' },
            },
          ]
        : [],
  };
  return {
    family: 'dns',
    startedAt: clock.now(),
    durationMs: 3,
    results: [dmarc],
    posture: posture(score),
    verificationTxt: [],
  };
}

async function addDomains(tenantId: string, count: number, tag: string) {
  const domains = createDomainsService({
    db,
    clock,
    // Adding a domain resolves nothing; verification is not part of these tests.
    resolver: {
      query: () => Promise.reject(new Error('no DNS in these tests')),
    } as unknown as Parameters<typeof createDomainsService>[0]['resolver'],
  });
  const added = [];
  for (let i = 0; i < count; i++) added.push(await domains.add(tenantId, `${tag}-${i}-${Date.now()}.test`));
  const rows = await withTenant(db, tenantId, (tx) => tx.select().from(schema.domains));
  return added.map((a) => rows.find((r) => r.name === a.name)!);
}

async function addEndpoint(tenantId: string) {
  await withTenant(db, tenantId, (tx) =>
    tx.insert(schema.webhookEndpoints).values({
      id: crypto.randomUUID(),
      tenantId,
      format: 'standard',
      targetCiphertext: 'sealed',
      displayTarget: 'https://hooks.customer.test',
      events: [],
    }),
  );
}

describe('run recorder', () => {
  it('should write the runs handed in together in one transaction per tenant, each as if alone', async () => {
    const a = await createTestTenant(db, 'A');
    const b = await createTestTenant(db, 'B');
    await addEndpoint(a.id);
    const domainsA = await addDomains(a.id, 20, 'batch-a');
    const domainsB = await addDomains(b.id, 5, 'batch-b');
    const slot = clock.now();
    const runs: RunToRecord[] = [...domainsA, ...domainsB].map((d) => ({
      target: { tenantId: d.tenantId, domainId: d.id },
      slot,
      outcome: outcome(d.name, 'none'),
      now: clock.now(),
    }));

    const recorder = createRunRecorder({ db, random: () => 0.5 });
    const connections = countConnections();
    const recorded = await Promise.all(runs.map((run) => recorder.record(run)));
    connections.stop();
    // Handed in during one turn of the event loop: one transaction for each tenant.
    expect(connections.value()).toBe(2);
    expect(recorded.every((r) => r.stored)).toBe(true);
    // A has an endpoint: its alerting events go to dispatch. B has none: they were dispatched as written.
    expect(recorded.slice(0, 20).every((r) => r.eventIds.length === 1)).toBe(true);
    expect(recorded.slice(20).every((r) => r.eventIds.length === 0 && r.written?.length === 1)).toBe(true);

    for (const [tenant, domains] of [
      [a, domainsA],
      [b, domainsB],
    ] as const) {
      const findings = await withTenant(db, tenant.id, (tx) => tx.select().from(schema.findings));
      expect(findings.map((f) => f.domainId).sort()).toEqual(domains.map((d) => d.id).sort());
      expect(findings.every((f) => f.code === 'dmarc.policy_none' && f.state === 'open')).toBe(true);
      const history = await withTenant(db, tenant.id, (tx) => tx.select().from(schema.postureHistory));
      expect(history).toHaveLength(domains.length);
      const schedules = await withTenant(db, tenant.id, (tx) =>
        tx.select().from(schema.domainSchedules).where(eq(schema.domainSchedules.family, 'dns')),
      );
      // random 0.5: no jitter, the next slot is exactly one interval away.
      expect(
        schedules.every((s) => s.nextRunAt.getTime() === clock.now().getTime() + s.intervalSeconds * 1000),
      ).toBe(true);
      const shown = await withTenant(db, tenant.id, (tx) => tx.select().from(schema.domains));
      expect(shown.every((d) => d.postureScore === 70 && d.lastCheckedAt !== null)).toBe(true);
    }

    // The same slots again (redone jobs): nothing is stored twice.
    const again = await Promise.all(runs.map((run) => recorder.record(run)));
    expect(again.every((r) => !r.stored && r.eventIds.length === 0)).toBe(true);
    const runRows = await withTenant(db, a.id, (tx) => tx.select().from(schema.checkRuns));
    expect(runRows).toHaveLength(20);
  });

  it('should fail only the bad run of a batch, and record two runs of one domain in order', async () => {
    const tenant = await createTestTenant(db);
    const [good, bad, twice] = await addDomains(tenant.id, 3, 'mixed');
    const recorder = createRunRecorder({ db });
    const first = clock.now();
    clock.advance(60_000);
    const second = clock.now();
    const results = await Promise.allSettled([
      recorder.record({
        target: { tenantId: tenant.id, domainId: good!.id },
        slot: first,
        outcome: outcome(good!.name, 'none'),
        now: clock.now(),
      }),
      // A score out of 0..100 breaks the posture history's check constraint: the batch fails.
      recorder.record({
        target: { tenantId: tenant.id, domainId: bad!.id },
        slot: first,
        outcome: outcome(bad!.name, 'none', 500),
        now: clock.now(),
      }),
      recorder.record({
        target: { tenantId: tenant.id, domainId: twice!.id },
        slot: first,
        outcome: outcome(twice!.name, 'none'),
        now: clock.now(),
      }),
      // The next slot of the same domain, fixed: it sees the finding the first run opened.
      recorder.record({
        target: { tenantId: tenant.id, domainId: twice!.id },
        slot: second,
        outcome: outcome(twice!.name, 'reject', 95),
        now: clock.now(),
      }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    const runs = await withTenant(db, tenant.id, (tx) => tx.select().from(schema.checkRuns));
    expect(runs.map((r) => r.domainId).sort()).toEqual([good!.id, twice!.id, twice!.id].sort());
    const events = await withTenant(db, tenant.id, (tx) =>
      tx.select().from(schema.monitoringEvents).where(eq(schema.monitoringEvents.domainId, twice!.id)),
    );
    expect(events.map((e) => e.type).sort()).toEqual([
      'finding.opened',
      'finding.resolved',
      'posture.improved',
    ]);
    const [finding] = await withTenant(db, tenant.id, (tx) =>
      tx.select().from(schema.findings).where(eq(schema.findings.domainId, twice!.id)),
    );
    expect(finding).toMatchObject({ state: 'resolved' });
  });
});

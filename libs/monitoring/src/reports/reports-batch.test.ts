/**
 * The batch readers GraphQL loaders use (summariesForDomains, enforcementAdviceForDomains) give,
 * for every domain, exactly what the one-domain reads REST uses give; each domain's top sources,
 * reporters and TLS failures are ranked within that domain; ids that are not the tenant's live
 * domains are absent.
 */
import { encodeId } from '@mailwarden/core';
import { schema, withTenant } from '@mailwarden/db';
import { createTestTenant } from '@mailwarden/testing/db';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createReportsService } from './reports.service.ts';
import { corpus, db, deps, generatedReport, intake, record, watch } from './reports.test-helper.ts';

const WINDOW = { from: '2026-11-01', to: '2026-11-28' };

async function seeded() {
  const tenant = await createTestTenant(db);
  const domains = ['a.test', 'b.test', 'c.test', 'quiet.test'];
  const ids = await Promise.all(domains.map((name) => watch(tenant.id, name)));
  // Each domain its own mix, so a ranking or sum across domains would show.
  const mixes = [
    [record('192.0.2.1', 900, 'pass', 'pass'), record('192.0.2.2', 60, 'fail', 'fail', true)],
    [
      record('192.0.2.2', 30, 'pass', 'pass'),
      record('192.0.2.3', 300, 'fail', 'fail', false, 'reject'),
      record('192.0.2.4', 200, 'pass', 'fail'),
    ],
    [
      record('192.0.2.1', 7, 'fail', 'pass', false, 'quarantine'),
      record('192.0.2.5', 12, 'fail', 'fail', true),
    ],
  ];
  for (const [i, rows] of mixes.entries()) {
    const xml = generatedReport({
      records: rows.length,
      domain: domains[i]!,
      reportId: `batch-${i}`,
      begin: 1795737600 + i * 86_400 - 86_400 * 3, // a different day per domain
      end: 1795823999 + i * 86_400 - 86_400 * 3,
      p: i === 0 ? 'quarantine' : 'none',
      row: (n) => rows[n]!.replace('shop.test', domains[i]!),
    });
    expect((await intake(tenant.id, Buffer.from(xml))).result.state).toBe('parsed');
  }
  const tls = JSON.parse(corpus('smtp-tls', 'parsedmarc', 'rfc8460.json').toString('utf8'));
  tls.policies[0].policy['policy-domain'] = 'b.test';
  tls['date-range'] = { 'start-datetime': '2026-11-20T00:00:00Z', 'end-datetime': '2026-11-20T23:59:59Z' };
  await intake(tenant.id, Buffer.from(JSON.stringify(tls)));
  return { tenant, ids };
}

describe('report analytics for many domains', () => {
  it('should give every domain the summary and advice its one-domain read gives', async () => {
    const { tenant, ids } = await seeded();
    const service = createReportsService(deps());
    const summaries = await service.summariesForDomains(tenant.id, ids, { ...WINDOW, topSources: 2 });
    const advice = await service.enforcementAdviceForDomains(tenant.id, ids, WINDOW);
    expect([...summaries.keys()].sort()).toEqual([...ids].sort());
    for (const id of ids) {
      const dom = encodeId('dom', id);
      expect(summaries.get(id)).toEqual(await service.summary(tenant.id, dom, { ...WINDOW, topSources: 2 }));
      expect(advice.get(id)).toEqual(await service.enforcementAdvice(tenant.id, dom, WINDOW));
    }
    // Ranked within each domain: b's top two are its own heaviest sources.
    expect(summaries.get(ids[1]!)!.topSources.map((s) => [s.ip, s.messages])).toEqual([
      ['192.0.2.3', 300],
      ['192.0.2.4', 200],
    ]);
    expect(summaries.get(ids[1]!)!.tls.failedSessions).toBe(303);
    expect(summaries.get(ids[0]!)!.tls.failures).toEqual([]);
    expect(summaries.get(ids[2]!)!.totals).toMatchObject({
      messages: 19,
      dispositions: { none: 12, quarantine: 7, reject: 0 },
    });
    expect(summaries.get(ids[3]!)).toMatchObject({ days: [], topSources: [], totals: { messages: 0 } });
    expect(advice.get(ids[0]!)).toMatchObject({
      currentPolicy: 'quarantine',
      recommendation: 'fix_sources_first',
    });
    expect(advice.get(ids[3]!)!.recommendation).toBe('insufficient_data');
  });

  it("should leave out another tenant's domains, deleted ones and ids that are not uuids", async () => {
    const { tenant, ids } = await seeded();
    const other = await createTestTenant(db);
    const service = createReportsService(deps());
    expect((await service.summariesForDomains(other.id, ids, WINDOW)).size).toBe(0);
    expect((await service.enforcementAdviceForDomains(other.id, ids, WINDOW)).size).toBe(0);
    await withTenant(db, tenant.id, (tx) =>
      tx.update(schema.domains).set({ deletedAt: new Date() }).where(eq(schema.domains.id, ids[0]!)),
    );
    const found = await service.summariesForDomains(tenant.id, [ids[0]!, ids[1]!, 'not-a-uuid'], WINDOW);
    expect([...found.keys()]).toEqual([ids[1]!]);
    expect(found.get(ids[1]!)!.domainId).toBe(encodeId('dom', ids[1]!));
    expect((await service.summariesForDomains(tenant.id, [], WINDOW)).size).toBe(0);
  });

  it('should refuse a bad window before reading, naming the argument as the caller asks', async () => {
    const service = createReportsService(deps());
    const tenant = await createTestTenant(db);
    await expect(
      service.summariesForDomains(tenant.id, [], {
        from: '2026-12-01',
        to: '2026-11-01',
        locationPrefix: '',
      }),
    ).rejects.toMatchObject({ code: 'validation_failed', errors: [{ location: 'from' }] });
    await expect(service.enforcementAdviceForDomains(tenant.id, [], { from: 'soon' })).rejects.toMatchObject({
      code: 'validation_failed',
      errors: [{ location: 'query.from' }],
    });
  });
});

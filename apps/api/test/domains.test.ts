/**
 * Domains over REST against the real stack: Postgres under RLS, Redis for limits and queues, and a
 * loopback DNS server for the verification lookup.
 */
import { decodeId } from '@mailwarden/core';
import { schema, withTenant } from '@mailwarden/db';
import { createProducer, queueNames } from '@mailwarden/queue';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  bearer,
  expectProblem,
  type SignedUp,
  signIn,
  signUp,
  uniqueEmail,
} from './auth-helpers.ts';
import {
  addDomain,
  type MonitoringTestbed,
  startMonitoringTestbed,
  uniqueApex,
} from './monitoring-helpers.ts';

let bed: MonitoringTestbed;
let owner: SignedUp;
beforeAll(async () => {
  bed = await startMonitoringTestbed();
  owner = await signUp(bed.t);
});
afterAll(() => bed.close());

const call = (
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  payload?: object,
  token = owner.accessToken,
) => bed.t.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });

async function auditActions(token = owner.accessToken): Promise<string[]> {
  const res = await call('GET', '/v1/audit-events?limit=100', undefined, token);
  return res.json().items.map((e: { action: string }) => e.action);
}

function jobsQueue(name: (typeof queueNames)[keyof typeof queueNames]) {
  return createProducer(bed.t.container.redis, bed.t.config.QUEUE_PREFIX).queue(name);
}

describe('adding a domain', () => {
  it('should watch it with default intervals, a verification record and an audit entry', async () => {
    const name = uniqueApex();
    const res = await call('POST', '/v1/domains', {
      name: name.toUpperCase(),
      dkimSelectors: ['S1', 's1', 'google'],
      sendingIps: ['192.0.2.25', '2001:DB8::1'],
      alertThreshold: 'high',
      intervals: { dns: 1800 },
    });
    expect(res.statusCode, res.body).toBe(201);
    const domain = res.json();
    expect(res.headers.location).toBe(`/v1/domains/${domain.id}`);
    expect(domain).toMatchObject({
      name,
      verified: false,
      verifiedAt: null,
      dkimSelectors: ['s1', 'google'],
      sendingIps: ['192.0.2.25', '2001:db8::1'],
      alertThreshold: 'high',
      posture: null,
      intervals: { dns: 1800 },
      verification: { recordName: `_mailwarden.${name}`, recordType: 'TXT' },
    });
    expect(domain.id).toMatch(/^dom_/);
    expect(domain.verification.recordValue).toMatch(/^mailwarden-verification=/);
    expect(domain.intervals.tls).toBeGreaterThanOrEqual(300);
    expect(await auditActions()).toContain('domain.added');
    // The same name twice is a conflict; another tenant may watch it too.
    expectProblem(await call('POST', '/v1/domains', { name }), 409, 'domain_taken');
    const other = await signUp(bed.t);
    await addDomain(bed.t, other.accessToken, name);
  });

  it('should refuse bad input with stable codes and store nothing', async () => {
    const before = (await call('GET', '/v1/domains?limit=200')).json().items.length;
    expectProblem(await call('POST', '/v1/domains', { name: 'not a domain' }), 400, 'domain_invalid');
    expectProblem(await call('POST', '/v1/domains', { name: '192.0.2.1' }), 400, 'domain_invalid');
    expectProblem(
      await call('POST', '/v1/domains', { name: uniqueApex(), owner: 'x' }),
      400,
      'validation_failed',
    );
    expectProblem(await call('POST', '/v1/domains', {}), 400, 'validation_failed');
    expectProblem(
      await call('POST', '/v1/domains', { name: uniqueApex(), intervals: { dns: 10 } }),
      400,
      'validation_failed',
    );
    expectProblem(
      await call('POST', '/v1/domains', { name: uniqueApex(), intervals: { smtp: 3600 } }),
      400,
      'validation_failed',
    );
    const badIp = expectProblem(
      await call('POST', '/v1/domains', { name: uniqueApex(), sendingIps: ['999.1.1.1'] }),
      400,
      'validation_failed',
    );
    expect(JSON.stringify(badIp.errors)).toContain('body.sendingIps');
    expectProblem(
      await call('POST', '/v1/domains', { name: uniqueApex(), dkimSelectors: ['bad selector!'] }),
      400,
      'validation_failed',
    );
    expectProblem(
      await call('POST', '/v1/domains', { name: uniqueApex(), alertThreshold: 'urgent' }),
      400,
      'validation_failed',
    );
    expectProblem(await call('POST', '/v1/domains', { name: 'x'.repeat(300) }), 400, 'validation_failed');
    expect((await call('GET', '/v1/domains?limit=200')).json().items).toHaveLength(before);
  });

  it('should enforce the tenant quota', async () => {
    const tenant = await signUp(bed.t);
    const tenantId = decodeId('ten', tenant.tenantId)!;
    await withTenant(bed.t.container.db, tenantId, (tx) =>
      tx.update(schema.tenantSettings).set({ maxDomains: 1 }),
    );
    await addDomain(bed.t, tenant.accessToken, uniqueApex());
    const res = await call('POST', '/v1/domains', { name: uniqueApex() }, tenant.accessToken);
    expect(expectProblem(res, 403, 'quota_exceeded')).toMatchObject({ quota: 'domains', limit: 1 });
  });
});

describe('listing, showing, changing and removing domains', () => {
  it('should filter, page with a cursor, update and soft-delete', async () => {
    const tenant = await signUp(bed.t);
    const token = tenant.accessToken;
    const tag = uniqueApex('list').split('.')[0]!;
    const names = [`a-${tag}.test`, `b-${tag}.test`, `c-${tag}.test`, 'unrelated-name.test'];
    const ids: string[] = [];
    for (const name of names) ids.push((await addDomain(bed.t, token, name)).id);
    // One verified, with a posture grade (as a run would leave it).
    const tenantId = decodeId('ten', tenant.tenantId)!;
    await withTenant(bed.t.container.db, tenantId, (tx) =>
      tx
        .update(schema.domains)
        .set({ verifiedAt: new Date(), postureScore: 61, postureGrade: 'C' })
        .where(eq(schema.domains.id, decodeId('dom', ids[1]!)!)),
    );

    const searched = (await call('GET', `/v1/domains?search=${tag}`, undefined, token)).json();
    expect(searched.items.map((d: { name: string }) => d.name)).toEqual(names.slice(0, 3));
    const verified = (await call('GET', '/v1/domains?verified=true', undefined, token)).json();
    expect(verified.items.map((d: { id: string }) => d.id)).toEqual([ids[1]]);
    const unverified = (await call('GET', '/v1/domains?verified=false', undefined, token)).json();
    expect(unverified.items).toHaveLength(3);
    const graded = (await call('GET', '/v1/domains?grade=C', undefined, token)).json();
    expect(graded.items[0]).toMatchObject({ id: ids[1], posture: { score: 61, grade: 'C' }, verified: true });

    // Cursor pagination walks every domain exactly once.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = (
        await call('GET', `/v1/domains?limit=3${cursor ? `&cursor=${cursor}` : ''}`, undefined, token)
      ).json();
      seen.push(...page.items.map((d: { id: string }) => d.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(ids);

    expectProblem(
      await call('GET', '/v1/domains?cursor=nonsense', undefined, token),
      400,
      'validation_failed',
    );
    expectProblem(await call('GET', '/v1/domains?limit=0', undefined, token), 400, 'validation_failed');
    expectProblem(
      await call('GET', '/v1/domains?verified=maybe', undefined, token),
      400,
      'validation_failed',
    );
    expectProblem(await call('GET', '/v1/domains?colour=red', undefined, token), 400, 'validation_failed');

    const shown = await call('GET', `/v1/domains/${ids[0]}`, undefined, token);
    expect(shown.json()).toMatchObject({ id: ids[0], name: names[0] });
    expectProblem(await call('GET', '/v1/domains/dom_nonsense', undefined, token), 404, 'not_found');

    const patched = await call(
      'PATCH',
      `/v1/domains/${ids[0]}`,
      { alertThreshold: 'critical', intervals: { tls: 86_400 }, probeOptions: { otherPorts: true } },
      token,
    );
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({
      alertThreshold: 'critical',
      intervals: { tls: 86_400 },
      probeOptions: { otherPorts: true },
    });
    expectProblem(await call('PATCH', `/v1/domains/${ids[0]}`, {}, token), 400, 'validation_failed');
    expectProblem(
      await call('PATCH', `/v1/domains/${ids[0]}`, { name: 'x.test' }, token),
      400,
      'validation_failed',
    );
    const cleared = await call('PATCH', `/v1/domains/${ids[0]}`, { alertThreshold: null }, token);
    expect(cleared.json().alertThreshold).toBeNull();

    const removed = await call('DELETE', `/v1/domains/${ids[0]}`, undefined, token);
    expect(removed.statusCode).toBe(204);
    expectProblem(await call('GET', `/v1/domains/${ids[0]}`, undefined, token), 404, 'not_found');
    expectProblem(await call('DELETE', `/v1/domains/${ids[0]}`, undefined, token), 404, 'not_found');
    const listed = (await call('GET', '/v1/domains', undefined, token)).json();
    expect(listed.items.map((d: { id: string }) => d.id)).not.toContain(ids[0]);
    const actions = await auditActions(token);
    expect(actions).toEqual(expect.arrayContaining(['domain.updated', 'domain.deleted']));
  });
});

describe('verification', () => {
  it('should fail without the TXT record, then verify, record an event and queue its dispatch', async () => {
    const name = uniqueApex('verify');
    bed.dns.setZone(name, { records: { '@': { TXT: ['v=spf1 -all'] } } });
    const domain = await addDomain(bed.t, owner.accessToken, name);
    const failed = expectProblem(
      await call('POST', `/v1/domains/${domain.id}/verify`),
      409,
      'verification_failed',
    );
    expect(failed).toMatchObject({ recordName: `_mailwarden.${name}` });

    const other = uniqueApex('verify');
    bed.dns.setZone(other, { records: { '@': { TXT: ['v=spf1 -all'] } } });
    const second = await addDomain(bed.t, owner.accessToken, other);
    bed.dns.setRecords(`_mailwarden.${other}`, 'TXT', ['unrelated', second.verification.recordValue]);
    const res = await call('POST', `/v1/domains/${second.id}/verify`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ id: second.id, verified: true });
    expect(res.json().verifiedAt).toEqual(expect.any(String));
    expect(bed.dns.queriesFor(`_mailwarden.${other}`, 'TXT').length).toBeGreaterThan(0);

    const events = (await call('GET', `/v1/events?domainId=${second.id}`)).json();
    expect(events.items).toHaveLength(1);
    expect(events.items[0]).toMatchObject({ type: 'domain.verified', domainId: second.id, suppressed: null });
    expect(events.items[0].payload.domain).toMatchObject({ id: second.id, name: other });
    const eventUuid = decodeId('evt', events.items[0].id)!;
    const job = await jobsQueue(queueNames.webhooks).getJob(`evt.${eventUuid}`);
    expect(job?.name).toBe('dispatch-event');
    expect(job?.data).toEqual({ tenantId: decodeId('ten', owner.tenantId), eventId: eventUuid });
    expect(await auditActions()).toContain('domain.verified');

    // Verifying again is a no-op: no second event.
    expect((await call('POST', `/v1/domains/${second.id}/verify`)).statusCode).toBe(200);
    expect((await call('GET', `/v1/events?domainId=${second.id}`)).json().items).toHaveLength(1);
  });
});

describe('scan now', () => {
  it('should queue the passive families at once, the TLS family once verified, and limit per domain', async () => {
    const name = uniqueApex('scan');
    const domain = await addDomain(bed.t, owner.accessToken, name);
    const res = await call('POST', `/v1/domains/${domain.id}/scan`);
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toMatchObject({ domainId: domain.id, queued: 3 });
    expect([...res.json().families].sort()).toEqual(['blocklist', 'dns', 'dnssec']);
    const dnsJobs = await jobsQueue(queueNames.checksDns).getJobs(['waiting', 'delayed', 'prioritized']);
    // One batch job (run-checks) holding this name's check alone.
    const mine = dnsJobs.filter((j) => j?.data?.checks?.some((c: { name: string }) => c.name === name));
    expect(mine).toHaveLength(1);
    expect(mine[0]!.data.checks).toHaveLength(1);
    expect(mine[0]!.data.checks[0].targets).toEqual([
      { tenantId: decodeId('ten', owner.tenantId), domainId: decodeId('dom', domain.id) },
    ]);

    // Again within the minute: refused, with when to retry; another domain is not affected.
    const again = await call('POST', `/v1/domains/${domain.id}/scan`);
    expect(expectProblem(again, 429, 'rate_limited').retryAfterSeconds).toBeGreaterThan(0);
    expect(again.headers['retry-after']).toBeDefined();
    const second = await addDomain(bed.t, owner.accessToken, uniqueApex('scan'));
    expect((await call('POST', `/v1/domains/${second.id}/scan`)).statusCode).toBe(202);

    // A verified domain gets its TLS probes too.
    const verifiedName = uniqueApex('scan');
    const verified = await addDomain(bed.t, owner.accessToken, verifiedName);
    bed.dns.setZone(verifiedName, { records: { _mailwarden: { TXT: [verified.verification.recordValue] } } });
    expect((await call('POST', `/v1/domains/${verified.id}/verify`)).statusCode).toBe(200);
    const scanned = await call('POST', `/v1/domains/${verified.id}/scan`);
    expect(scanned.json().families).toContain('tls');
    expectProblem(await call('POST', '/v1/domains/dom_00000000000000000000000000/scan'), 404, 'not_found');
  });
});

describe('permissions', () => {
  it('should let a viewer and a read key read but not change domains', async () => {
    const tenant = await signUp(bed.t);
    const domain = await addDomain(bed.t, tenant.accessToken, uniqueApex('perm'));
    const viewerEmail = uniqueEmail('viewer');
    const { password } = await addMember(bed.t, tenant, viewerEmail, 'viewer');
    const viewer = await signIn(bed.t, viewerEmail, password);
    const keyRes = await call(
      'POST',
      '/v1/api-keys',
      { name: 'reader', scopes: ['read'] },
      tenant.accessToken,
    );
    const readKey = keyRes.json().key as string;
    for (const token of [viewer.accessToken, readKey]) {
      expect((await call('GET', '/v1/domains', undefined, token)).statusCode).toBe(200);
      expect((await call('GET', `/v1/domains/${domain.id}`, undefined, token)).statusCode).toBe(200);
      expectProblem(await call('POST', '/v1/domains', { name: uniqueApex() }, token), 403, 'forbidden');
      expectProblem(await call('DELETE', `/v1/domains/${domain.id}`, undefined, token), 403, 'forbidden');
      expectProblem(await call('POST', `/v1/domains/${domain.id}/scan`, undefined, token), 403, 'forbidden');
    }
    const writeKey = (
      await call('POST', '/v1/api-keys', { name: 'writer', scopes: ['write'] }, tenant.accessToken)
    ).json().key as string;
    await addDomain(bed.t, writeKey, uniqueApex('perm'));
    expectProblem(await bed.t.app.inject({ url: '/v1/domains' }), 401, 'unauthenticated');
  });
});

/**
 * Monitoring over GraphQL: the dashboard query and its constant SQL cost, mutations with the same
 * codes as REST, the depth/alias/cost limits (the live subscription: graphql-live-events.test.ts).
 * Data comes from real runs (runCheckJob against the loopback DNS server).
 */
import { decodeId } from '@mailwarden/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, gql, type SignedUp, signUp } from './auth-helpers.ts';
import {
  addDomain,
  type MonitoringTestbed,
  runDnsFamily,
  serveDomain,
  startMonitoringTestbed,
  uniqueApex,
} from './monitoring-helpers.ts';
import { countStatements } from './statement-counter.ts';

let bed: MonitoringTestbed;
let owner: SignedUp;
let seeded: { id: string; name: string };
beforeAll(async () => {
  // A long auth cache so the statement counts below are the query's own, not credential checks.
  bed = await startMonitoringTestbed({ AUTH_CACHE_TTL_MS: '60000', GRAPHQL_MAX_ALIASES: '20' });
  owner = await signUp(bed.t);
  const apex = uniqueApex('gql');
  serveDomain(bed.dns, apex);
  seeded = await addDomain(bed.t, owner.accessToken, apex);
  await runDnsFamily(bed, owner.tenantId, seeded.id);
});
afterAll(() => bed.close());

const codes = (body: { errors?: { extensions: { code: string } }[] }) =>
  (body.errors ?? []).map((e) => e.extensions.code);

const DASHBOARD = `query Dashboard($first: Int!, $since: String) {
  domains(first: $first) {
    nodes {
      id name verified posture { score grade } lastCheckedAt
      openFindings { id code severity domain { id name } }
      postureHistory(since: $since) { recordedAt score grade }
      recentEvents(limit: 5) { id type occurredAt domain { id } }
    }
    pageInfo { endCursor hasNextPage }
  }
}`;

describe('queries', () => {
  it('should answer the dashboard query with the same data REST shows', async () => {
    const { body } = await gql(bed.t, DASHBOARD, { token: owner.accessToken, variables: { first: 50 } });
    expect(body.errors).toBeUndefined();
    const node = body.data.domains.nodes.find((d: { id: string }) => d.id === seeded.id);
    const rest = await bed.t.app.inject({
      url: `/v1/domains/${seeded.id}`,
      headers: bearer(owner.accessToken),
    });
    expect(node.posture).toEqual(rest.json().posture);
    const restFindings = await bed.t.app.inject({
      url: `/v1/findings?domainId=${seeded.id}&state=open&limit=200`,
      headers: bearer(owner.accessToken),
    });
    expect(node.openFindings.map((f: { id: string }) => f.id)).toEqual(
      restFindings.json().items.map((f: { id: string }) => f.id),
    );
    expect(node.openFindings.map((f: { code: string }) => f.code)).toContain('dmarc.policy_none');
    expect(node.openFindings[0].domain).toEqual({ id: seeded.id, name: seeded.name });
    expect(node.postureHistory).toHaveLength(1);
    expect(node.recentEvents.length).toBeGreaterThan(0);
    expect(node.recentEvents.length).toBeLessThanOrEqual(5);
    expect(node.recentEvents[0].domain.id).toBe(seeded.id);
    expect(body.data.domains.pageInfo.hasNextPage).toBe(false);
  });

  it('should page, filter and read findings, events and runs', async () => {
    const token = owner.accessToken;
    const { body } = await gql(
      bed.t,
      `{ findings(filter: {domainId: "${seeded.id}", state: open, minSeverity: medium}, first: 2) {
           nodes { id severity evidence state } pageInfo { endCursor hasNextPage } }
         events(filter: {domainId: "${seeded.id}", type: "finding.opened"}, first: 3) { nodes { id type payload } }
         runs(domainId: "${seeded.id}") { nodes { id family outcome durationMs summary } }
         domain(id: "${seeded.id}") { name verification { recordName } intervals { dns tls } probeOptions { otherPorts } } }`,
      { token },
    );
    expect(body.errors).toBeUndefined();
    expect(body.data.findings.nodes.length).toBeLessThanOrEqual(2);
    for (const f of body.data.findings.nodes) {
      expect(['medium', 'high', 'critical']).toContain(f.severity);
      expect(typeof JSON.parse(f.evidence)).toBe('object');
    }
    expect(body.data.events.nodes.every((e: { type: string }) => e.type === 'finding.opened')).toBe(true);
    expect(JSON.parse(body.data.events.nodes[0].payload).finding.code).toEqual(expect.any(String));
    expect(body.data.runs.nodes).toHaveLength(1);
    expect(body.data.domain.verification.recordName).toBe(`_mailwarden.${seeded.name}`);
    expect(body.data.domain.probeOptions.otherPorts).toBe(false);

    const bad = await gql(bed.t, '{ events(filter: {type: "nope"}) { nodes { id } } }', { token });
    expect(codes(bad.body)).toEqual(['validation_failed']);
    const badFirst = await gql(bed.t, '{ domains(first: 0) { nodes { id } } }', { token });
    expect(codes(badFirst.body)).toEqual(['validation_failed']);
    const badCursor = await gql(bed.t, '{ domains(after: "fnd_x") { nodes { id } } }', { token });
    expect(codes(badCursor.body)).toEqual(['validation_failed']);
    const badSince = await gql(
      bed.t,
      '{ domains { nodes { postureHistory(since: "last week") { score } } } }',
      {
        token,
      },
    );
    expect(codes(badSince.body)).toContain('validation_failed');
    const missing = await gql(bed.t, '{ domain(id: "dom_00000000000000000000000000") { id } }', { token });
    expect(codes(missing.body)).toEqual(['not_found']);
    const anonymous = await gql(bed.t, '{ domains { nodes { id } } }');
    expect(codes(anonymous.body)).toEqual(['unauthenticated']);
  });
});

describe('SQL statements of the dashboard query', () => {
  async function tenantWithDomains(n: number) {
    const tenant = await signUp(bed.t);
    const tenantId = decodeId('ten', tenant.tenantId)!;
    const ids: string[] = [];
    for (let i = 0; i < n; i++)
      ids.push((await bed.t.container.monitoring.domains.add(tenantId, uniqueApex(`n${n}-${i}`))).id);
    // Real findings, history and events on some of them, so every loader has rows to return.
    for (const id of ids.slice(0, 3)) {
      const name = (await bed.t.container.monitoring.domains.get(tenantId, id)).name;
      serveDomain(bed.dns, name);
      await runDnsFamily(bed, tenant.tenantId, id);
    }
    return tenant;
  }

  it('should be the same for 100 domains as for 10', async () => {
    const small = await tenantWithDomains(10);
    const large = await tenantWithDomains(100);
    const since = new Date(Date.now() - 86_400_000).toISOString();
    const run = async (tenant: SignedUp) => {
      const { body } = await gql(bed.t, DASHBOARD, {
        token: tenant.accessToken,
        variables: { first: 100, since },
      });
      expect(body.errors).toBeUndefined();
      return body.data.domains.nodes as { openFindings: unknown[]; recentEvents: unknown[] }[];
    };
    // Warm up: credential caches, signing keys, prepared plans.
    await run(small);
    await run(large);
    let nodes: Awaited<ReturnType<typeof run>> = [];
    const forSmall = await countStatements(async () => {
      nodes = await run(small);
    });
    expect(nodes).toHaveLength(10);
    const forLarge = await countStatements(async () => {
      nodes = await run(large);
    });
    expect(nodes).toHaveLength(100);
    expect(nodes.filter((d) => d.openFindings.length > 0)).toHaveLength(3);
    expect(forLarge).toBe(forSmall);
    // domains + openFindings + Finding.domain + postureHistory + recentEvents + Event.domain, each a
    // short transaction (begin, tenant setting, statement(s), commit).
    expect(forSmall).toBeLessThanOrEqual(30);
  });
});

describe('mutations', () => {
  it('should add, change, verify, scan and delete a domain with REST’s codes', async () => {
    const token = owner.accessToken;
    const name = uniqueApex('mut');
    const added = await gql(
      bed.t,
      `mutation { addDomain(input: {name: "${name}", dkimSelectors: ["s1"], alertThreshold: high, intervals: {dns: 3600}}) {
         id name alertThreshold intervals { dns } verification { recordValue } } }`,
      { token },
    );
    expect(added.body.errors).toBeUndefined();
    const domain = added.body.data.addDomain;
    expect(domain).toMatchObject({ name, alertThreshold: 'high', intervals: { dns: 3600 } });
    const dup = await gql(bed.t, `mutation { addDomain(input: {name: "${name}"}) { id } }`, { token });
    expect(codes(dup.body)).toEqual(['domain_taken']);
    const invalid = await gql(bed.t, 'mutation { addDomain(input: {name: "no such thing"}) { id } }', {
      token,
    });
    expect(codes(invalid.body)).toEqual(['domain_invalid']);
    const badInterval = await gql(
      bed.t,
      `mutation { addDomain(input: {name: "${uniqueApex()}", intervals: {dns: 5}}) { id } }`,
      { token },
    );
    expect(codes(badInterval.body)).toEqual(['validation_failed']);

    const updated = await gql(
      bed.t,
      `mutation { updateDomain(id: "${domain.id}", input: {clearAlertThreshold: true, sendingIps: ["192.0.2.7"]}) { alertThreshold sendingIps } }`,
      { token },
    );
    expect(updated.body.data.updateDomain).toEqual({ alertThreshold: null, sendingIps: ['192.0.2.7'] });

    const notYet = await gql(bed.t, `mutation { verifyDomain(id: "${domain.id}") { verified } }`, { token });
    expect(codes(notYet.body)).toEqual(['verification_failed']);
    bed.dns.setZone(name, { records: { _mailwarden: { TXT: [domain.verification.recordValue] } } });
    const verified = await gql(bed.t, `mutation { verifyDomain(id: "${domain.id}") { verified } }`, {
      token,
    });
    expect(verified.body.data.verifyDomain.verified).toBe(true);

    // Two aliased scans of one domain: the second is over the per-domain limit, like REST.
    const scans = await gql(
      bed.t,
      `mutation { a: scanDomain(id: "${domain.id}") { queued families } b: scanDomain(id: "${domain.id}") { queued } }`,
      { token },
    );
    expect(scans.body.data.a.families).toContain('tls');
    expect(codes(scans.body)).toEqual(['rate_limited']);

    const deleted = await gql(bed.t, `mutation { deleteDomain(id: "${domain.id}") }`, { token });
    expect(deleted.body.data.deleteDomain).toBe(true);
    const gone = await gql(bed.t, `{ domain(id: "${domain.id}") { id } }`, { token });
    expect(codes(gone.body)).toEqual(['not_found']);
  });

  it('should mute, acknowledge and withdraw a finding, and manage maintenance windows', async () => {
    const token = owner.accessToken;
    const list = await gql(
      bed.t,
      `{ findings(filter: {domainId: "${seeded.id}"}, first: 1) { nodes { id } } }`,
      {
        token,
      },
    );
    const id = list.body.data.findings.nodes[0].id;
    const until = new Date(Date.now() + 86_400_000).toISOString();
    const muted = await gql(
      bed.t,
      `mutation { muteFinding(id: "${id}", until: "${until}") { mutedUntil } }`,
      { token },
    );
    expect(muted.body.data.muteFinding.mutedUntil).toBe(until);
    const past = await gql(
      bed.t,
      `mutation { muteFinding(id: "${id}", until: "2001-01-01T00:00:00Z") { id } }`,
      {
        token,
      },
    );
    expect(codes(past.body)).toEqual(['validation_failed']);
    const acked = await gql(bed.t, `mutation { acknowledgeFinding(id: "${id}") { acknowledgedBy } }`, {
      token,
    });
    expect(acked.body.data.acknowledgeFinding.acknowledgedBy).toBe(owner.userId);
    const withdrawn = await gql(bed.t, `mutation { unacknowledgeFinding(id: "${id}") { acknowledgedAt } }`, {
      token,
    });
    expect(withdrawn.body.data.unacknowledgeFinding.acknowledgedAt).toBeNull();

    const startsAt = new Date(Date.now() + 60_000).toISOString();
    const endsAt = new Date(Date.now() + 3_600_000).toISOString();
    const window = await gql(
      bed.t,
      `mutation { createMaintenanceWindow(input: {domainId: "${seeded.id}", startsAt: "${startsAt}", endsAt: "${endsAt}"}) { id domainId reason } }`,
      { token },
    );
    expect(window.body.data.createMaintenanceWindow).toMatchObject({ domainId: seeded.id, reason: '' });
    const windows = await gql(bed.t, '{ maintenanceWindows { id } }', { token });
    expect(windows.body.data.maintenanceWindows.map((w: { id: string }) => w.id)).toContain(
      window.body.data.createMaintenanceWindow.id,
    );
    const removed = await gql(
      bed.t,
      `mutation { deleteMaintenanceWindow(id: "${window.body.data.createMaintenanceWindow.id}") }`,
      { token },
    );
    expect(removed.body.data.deleteMaintenanceWindow).toBe(true);

    const readKey = (
      await bed.t.app.inject({
        method: 'POST',
        url: '/v1/api-keys',
        headers: bearer(token),
        payload: { name: 'reader', scopes: ['read'] },
      })
    ).json().key;
    const refused = await gql(bed.t, `mutation { muteFinding(id: "${id}") { id } }`, { token: readKey });
    expect(codes(refused.body)).toEqual(['forbidden']);
    const readable = await gql(bed.t, '{ domains { nodes { id } } }', { token: readKey });
    expect(readable.body.errors).toBeUndefined();
  });
});

describe('limits', () => {
  it('should refuse a query over the cost limit, too many aliases, or too deep', async () => {
    const token = owner.accessToken;
    // 200 domains × 200 findings each × their fields: far over the default cap.
    const costly = await gql(
      bed.t,
      '{ findings(first: 200) { nodes { domain { recentEvents(limit: 50) { domain { openFindings { id code } } } } } } }',
      { token },
    );
    expect(costly.status).toBe(400);
    expect(codes(costly.body)).toEqual(['query_too_complex']);
    // The same through a variable.
    const viaVariable = await gql(
      bed.t,
      'query($n: Int!) { domains(first: $n) { nodes { recentEvents(limit: 50) { domain { openFindings { id } } } } } }',
      { token, variables: { n: 200 } },
    );
    expect(codes(viaVariable.body)).toEqual(['query_too_complex']);
    const aliases = Array.from({ length: 21 }, (_, i) => `a${i}: meta { service }`).join(' ');
    const aliased = await gql(bed.t, `{ ${aliases} }`, { token });
    expect(codes(aliased.body)).toEqual(['query_too_complex']);
    const deep = await gql(
      bed.t,
      '{ findings { nodes { domain { openFindings { domain { openFindings { domain { openFindings { domain { id } } } } } } } } } }',
      { token },
    );
    expect(codes(deep.body)).toContain('query_too_complex');
  });
});

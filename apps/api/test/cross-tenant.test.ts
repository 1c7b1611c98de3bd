/**
 * Tenant isolation, both layers. Tenant B, holding every credential a tenant can have, tries each
 * of tenant A's resources through REST and GraphQL — read, list, update, delete, nested fields —
 * and must find nothing: the same 404 as for an id that never existed, and A's data unchanged.
 *
 * Later resources join by adding a row to `resources` below (DESIGN.md §5: every endpoint has a
 * cross-tenant test).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { decodeId, systemClock, uuidv7 } from '@mailwarden/core';
import { schema, withTenant } from '@mailwarden/db';
import { ingestRawReport } from '@mailwarden/monitoring';
import { createDnsClient, type DnsClient } from '@mailwarden/net';
import { corpusPath } from '@mailwarden/testing/corpus';
import { startDnsServer, type TestDnsServer } from '@mailwarden/testing/dns-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, bearer, expectProblem, gql, type SignedUp, signUp, uniqueEmail } from './auth-helpers.ts';
import { buildTestApp, type TestApp } from './helper.ts';
import { addDomain, runDnsFamily, serveDomain, uniqueApex } from './monitoring-helpers.ts';

interface Request {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  payload?: object;
}

interface TenantResource {
  name: string;
  /** Makes one in tenant A; returns its id. */
  create(t: TestApp, a: SignedUp): Promise<string>;
  /** An id of the right kind that exists nowhere (the "missing" baseline). */
  missingId: string;
  read?: (id: string) => Request;
  list?: Request;
  update?: (id: string) => Request;
  remove?: (id: string) => Request;
  graphql?: {
    read?: (id: string) => string;
    list?: string;
    update?: (id: string) => string;
    remove?: (id: string) => string;
  };
}

const nil = (prefix: string) => `${prefix}_${'0'.repeat(26)}`;

/** Monitoring data of tenant A comes from a real dns-family run against the loopback DNS server. */
let dns: TestDnsServer;
let dnsClient: DnsClient;
let monitored: { domainId: string } | undefined;
async function monitoredDomain(t: TestApp, a: SignedUp) {
  if (!monitored) {
    const apex = uniqueApex('victim');
    serveDomain(dns, apex, 'v=DMARC1; p=none');
    const domainId = (await addDomain(t, a.accessToken, apex)).id;
    await runDnsFamily({ t, client: dnsClient }, a.tenantId, domainId);
    monitored = { domainId };
  }
  return monitored;
}
const firstItemId = async (t: TestApp, a: SignedUp, url: string) =>
  (await t.app.inject({ url, headers: bearer(a.accessToken) })).json().items[0].id as string;

const resources: TenantResource[] = [
  {
    name: 'member',
    async create(t, a) {
      const email = uniqueEmail('victim');
      await addMember(t, a, email, 'member');
      const list = (await t.app.inject({ url: '/v1/members', headers: bearer(a.accessToken) })).json();
      return list.find((m: { email: string }) => m.email === email).id;
    },
    missingId: nil('mem'),
    read: (id) => ({ method: 'GET', url: `/v1/members/${id}` }),
    list: { method: 'GET', url: '/v1/members' },
    update: (id) => ({ method: 'PATCH', url: `/v1/members/${id}`, payload: { role: 'viewer' } }),
    remove: (id) => ({ method: 'DELETE', url: `/v1/members/${id}` }),
    graphql: {
      read: (id) => `{ member(id: "${id}") { id email } }`,
      list: '{ members { id } tenant { members { id } } }',
      update: (id) => `mutation { updateMemberRole(id: "${id}", role: viewer) { id role } }`,
      remove: (id) => `mutation { removeMember(id: "${id}") }`,
    },
  },
  {
    name: 'API key',
    async create(t, a) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/api-keys',
        headers: bearer(a.accessToken),
        payload: { name: 'victim key', scopes: ['read'] },
      });
      return res.json().apiKey.id;
    },
    missingId: nil('key'),
    read: (id) => ({ method: 'GET', url: `/v1/api-keys/${id}` }),
    list: { method: 'GET', url: '/v1/api-keys' },
    update: (id) => ({ method: 'PATCH', url: `/v1/api-keys/${id}`, payload: { name: 'stolen' } }),
    remove: (id) => ({ method: 'DELETE', url: `/v1/api-keys/${id}` }),
    graphql: {
      read: (id) => `{ apiKey(id: "${id}") { id name createdBy { email } } }`,
      list: '{ apiKeys { id createdBy { id } } }',
      update: (id) => `mutation { renameApiKey(id: "${id}", name: "stolen") { id } }`,
      remove: (id) => `mutation { revokeApiKey(id: "${id}") { id } }`,
    },
  },
  {
    name: 'invitation',
    async create(t, a) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/invitations',
        headers: bearer(a.accessToken),
        payload: { email: uniqueEmail('invitee'), role: 'member' },
      });
      return res.json().id;
    },
    missingId: nil('inv'),
    list: { method: 'GET', url: '/v1/invitations' },
    remove: (id) => ({ method: 'DELETE', url: `/v1/invitations/${id}` }),
    graphql: { list: '{ invitations { id invitedBy { id } } }' },
  },
  {
    name: 'session',
    async create(_t, a) {
      return a.sessionId;
    },
    missingId: nil('ses'),
    list: { method: 'GET', url: '/v1/auth/sessions' },
    remove: (id) => ({ method: 'DELETE', url: `/v1/auth/sessions/${id}` }),
    graphql: { list: '{ sessions { id } }' },
  },
  {
    name: 'audit event',
    async create(t, a) {
      const res = await t.app.inject({ url: '/v1/audit-events', headers: bearer(a.accessToken) });
      return res.json().items[0].id;
    },
    missingId: nil('aud'),
    list: { method: 'GET', url: '/v1/audit-events?limit=100' },
    graphql: { list: '{ auditEvents(first: 100) { nodes { id } } }' },
  },
  {
    name: 'report upload',
    async create(t, a) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/reports',
        headers: { ...bearer(a.accessToken), 'content-type': 'application/xml' },
        payload: `<feedback><report_metadata><report_id>${randomUUID()}</report_id></report_metadata></feedback>`,
      });
      return res.json().id;
    },
    missingId: nil('rpt'),
    read: (id) => ({ method: 'GET', url: `/v1/reports/uploads/${id}` }),
  },
  {
    name: 'DMARC aggregate report',
    async create(t, a) {
      // The worker's part (parse into report rows) runs here directly on the uploaded bytes.
      const tenantId = decodeId('ten', a.tenantId)!;
      await withTenant(t.container.db, tenantId, (tx) =>
        tx
          .insert(schema.domains)
          .values({ id: uuidv7(), tenantId, name: 'example.com', verificationToken: 'x' }),
      );
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/reports',
        headers: { ...bearer(a.accessToken), 'content-type': 'application/xml' },
        payload: readFileSync(
          corpusPath(
            'dmarc-aggregate',
            'parsedmarc',
            'aggregate',
            'example.net!example.com!1529366400!1529452799.xml',
          ),
        ),
      });
      await ingestRawReport(
        { db: t.container.db, clock: systemClock },
        tenantId,
        decodeId('rpt', res.json().id)!,
      );
      const list = await t.app.inject({ url: '/v1/reports', headers: bearer(a.accessToken) });
      return list.json().items[0].id;
    },
    missingId: nil('rpt'),
    list: { method: 'GET', url: '/v1/reports?limit=200' },
  },
  {
    name: 'domain',
    async create(t, a) {
      return (await addDomain(t, a.accessToken, uniqueApex('victim'))).id;
    },
    missingId: nil('dom'),
    read: (id) => ({ method: 'GET', url: `/v1/domains/${id}` }),
    list: { method: 'GET', url: '/v1/domains?limit=200' },
    update: (id) => ({ method: 'PATCH', url: `/v1/domains/${id}`, payload: { alertThreshold: 'critical' } }),
    remove: (id) => ({ method: 'DELETE', url: `/v1/domains/${id}` }),
    graphql: {
      read: (id) => `{ domain(id: "${id}") { id name openFindings { id } recentEvents { id } } }`,
      list: '{ domains(first: 100) { nodes { id openFindings { id domain { id } } recentEvents { id domain { id } } postureHistory { score } } } }',
      update: (id) => `mutation { updateDomain(id: "${id}", input: {alertThreshold: critical}) { id } }`,
      remove: (id) => `mutation { deleteDomain(id: "${id}") }`,
    },
  },
  {
    name: 'finding',
    async create(t, a) {
      const { domainId } = await monitoredDomain(t, a);
      return firstItemId(t, a, `/v1/findings?domainId=${domainId}`);
    },
    missingId: nil('fnd'),
    read: (id) => ({ method: 'GET', url: `/v1/findings/${id}` }),
    list: { method: 'GET', url: '/v1/findings?limit=200' },
    update: (id) => ({ method: 'POST', url: `/v1/findings/${id}/acknowledge`, payload: {} }),
    remove: (id) => ({ method: 'DELETE', url: `/v1/findings/${id}/acknowledgement` }),
    graphql: {
      read: (id) => `{ finding(id: "${id}") { id domain { id name } } }`,
      list: '{ findings(first: 100) { nodes { id domain { id } } } }',
      update: (id) => `mutation { muteFinding(id: "${id}", until: "2099-01-01T00:00:00Z") { id } }`,
      remove: (id) => `mutation { unacknowledgeFinding(id: "${id}") { id } }`,
    },
  },
  {
    name: 'monitoring event',
    async create(t, a) {
      const { domainId } = await monitoredDomain(t, a);
      return firstItemId(t, a, `/v1/events?domainId=${domainId}`);
    },
    missingId: nil('evt'),
    list: { method: 'GET', url: '/v1/events?limit=200' },
    graphql: { list: '{ events(first: 100) { nodes { id domain { id } } } }' },
  },
  {
    name: 'maintenance window',
    async create(t, a) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/maintenance-windows',
        headers: bearer(a.accessToken),
        payload: {
          startsAt: new Date(Date.now() + 3_600_000).toISOString(),
          endsAt: new Date(Date.now() + 7_200_000).toISOString(),
        },
      });
      return res.json().id;
    },
    missingId: nil('mnt'),
    list: { method: 'GET', url: '/v1/maintenance-windows' },
    remove: (id) => ({ method: 'DELETE', url: `/v1/maintenance-windows/${id}` }),
    graphql: {
      list: '{ maintenanceWindows { id } }',
      remove: (id) => `mutation { deleteMaintenanceWindow(id: "${id}") }`,
    },
  },
];

let t: TestApp;
let a: SignedUp;
let b: SignedUp;
/** Every credential tenant B can hold: the owner's access token and an admin API key. */
const bCredentials: Record<string, string> = {};
beforeAll(async () => {
  // Domain verification in the API resolves through DNS_SERVERS: a loopback server, never the system's.
  dns = await startDnsServer({ host: '127.0.0.1' });
  dns.setZone('test', {});
  dnsClient = createDnsClient({ servers: [{ host: dns.host, port: dns.port }], attempts: 1, cache: false });
  t = await buildTestApp({ DNS_SERVERS: `${dns.host}:${dns.port}` });
  a = await signUp(t, { tenantName: 'Tenant A' });
  b = await signUp(t, { tenantName: 'Tenant B' });
  bCredentials.session = b.accessToken;
  const key = await t.app.inject({
    method: 'POST',
    url: '/v1/api-keys',
    headers: bearer(b.accessToken),
    payload: { name: 'b admin', scopes: ['read', 'write', 'admin'] },
  });
  bCredentials.apiKey = key.json().key;
});
afterAll(async () => {
  await t.close();
  dnsClient.close();
  await dns.close();
});

const call = (req: Request, token: string) =>
  t.app.inject({
    method: req.method,
    url: req.url,
    headers: bearer(token),
    ...(req.payload ? { payload: req.payload } : {}),
  });
const stripVolatile = (body: Record<string, unknown>) => ({
  ...body,
  requestId: undefined,
  detail: undefined,
  instance: undefined,
});

describe.each(resources)('tenant B against tenant A: $name', (resource) => {
  let id: string;
  let snapshot: string;
  beforeAll(async () => {
    id = await resource.create(t, a);
    snapshot = JSON.stringify((await call(resource.list ?? resource.read!(id), a.accessToken)).json());
  });

  // A's view after every attempt: unchanged (audit events excepted: A's own reads add none).
  const expectUnchanged = async () => {
    const now = (await call(resource.list ?? resource.read!(id), a.accessToken)).json();
    if (resource.name !== 'audit event') expect(JSON.stringify(now)).toBe(snapshot);
    expect(JSON.stringify(now)).toContain(id);
  };

  for (const via of ['session', 'apiKey'] as const) {
    it(`should get the same 404 as a missing id on read, update and delete (${via})`, async () => {
      const token = bCredentials[via]!;
      for (const op of [resource.read, resource.update, resource.remove]) {
        if (!op) continue;
        const foreign = await call(op(id), token);
        const missing = await call(op(resource.missingId), token);
        if (missing.statusCode === 401 || missing.statusCode === 403) {
          // A route this credential may not use at all: refused before any lookup, alike.
          expect(foreign.statusCode).toBe(missing.statusCode);
          continue;
        }
        expect(stripVolatile(expectProblem(foreign, 404, 'not_found'))).toEqual(
          stripVolatile(expectProblem(missing, 404, 'not_found')),
        );
      }
      await expectUnchanged();
    });

    it(`should not list it (${via})`, async () => {
      if (!resource.list) return;
      const res = await call(resource.list, bCredentials[via]!);
      expect([200, 401, 403]).toContain(res.statusCode);
      expect(res.body).not.toContain(id);
    });
  }

  it('should find nothing through GraphQL: fields, lists, nested fields, loaders and mutations', async () => {
    const ops = resource.graphql ?? {};
    for (const token of Object.values(bCredentials)) {
      for (const [kind, make] of Object.entries(ops)) {
        const query = typeof make === 'function' ? make(id) : make;
        const { body } = await gql(t, query, { token });
        expect(JSON.stringify(body.data ?? null), `${kind}: ${query}`).not.toContain(id);
        if (kind !== 'list' && body.errors) {
          expect(['not_found', 'forbidden', 'unauthenticated']).toContain(body.errors[0].extensions.code);
        }
      }
    }
    await expectUnchanged();
  });
});

describe('monitoring: endpoints that take a domain id', () => {
  it("should answer B about A's domain exactly as about a missing one, or with nothing", async () => {
    const { domainId } = await monitoredDomain(t, a);
    const missing = nil('dom');
    for (const token of Object.values(bCredentials)) {
      for (const op of [
        (id: string) => ({ method: 'GET' as const, url: `/v1/domains/${id}/runs` }),
        (id: string) => ({ method: 'GET' as const, url: `/v1/domains/${id}/posture` }),
        (id: string) => ({ method: 'POST' as const, url: `/v1/domains/${id}/verify` }),
        (id: string) => ({
          method: 'POST' as const,
          url: '/v1/maintenance-windows',
          payload: {
            domainId: id,
            startsAt: new Date(Date.now() + 60_000).toISOString(),
            endsAt: new Date(Date.now() + 120_000).toISOString(),
          },
        }),
      ]) {
        expect(stripVolatile(expectProblem(await call(op(domainId), token), 404, 'not_found'))).toEqual(
          stripVolatile(expectProblem(await call(op(missing), token), 404, 'not_found')),
        );
      }
      for (const url of [`/v1/findings?domainId=${domainId}`, `/v1/events?domainId=${domainId}`]) {
        const res = await call({ method: 'GET', url }, token);
        expect(res.json()).toEqual({ items: [], nextCursor: null });
      }
      const { body } = await gql(
        t,
        `{ findings(filter: {domainId: "${domainId}"}) { nodes { id } } events(filter: {domainId: "${domainId}"}) { nodes { id } } }`,
        { token },
      );
      expect(body.data).toEqual({ findings: { nodes: [] }, events: { nodes: [] } });
      const runs = await gql(t, `{ runs(domainId: "${domainId}") { nodes { id } } }`, { token });
      expect(runs.body.errors[0].extensions.code).toBe('not_found');
      const verify = await gql(t, `mutation { verifyDomain(id: "${domainId}") { id } }`, { token });
      expect(verify.body.errors[0].extensions.code).toBe('not_found');
    }
    // Scan now once (the per-domain counter is B's own, so A's domain is not throttled by B).
    expectProblem(
      await call({ method: 'POST', url: `/v1/domains/${domainId}/scan` }, bCredentials.session!),
      404,
      'not_found',
    );
    const own = await call({ method: 'POST', url: `/v1/domains/${domainId}/scan` }, a.accessToken);
    expect(own.statusCode).toBe(202);
  });
});

describe('loaders', () => {
  it("should resolve a key's creator only among members of the caller's tenant", async () => {
    const partnerEmail = uniqueEmail('partner');
    const { password } = await addMember(t, a, partnerEmail, 'admin');
    await addMember(t, b, partnerEmail, 'admin', password);
    // The partner, signed in to B, creates a key there, then leaves B (still a member of A).
    const inB = (
      await t.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        remoteAddress: '127.250.0.1',
        payload: { email: partnerEmail, password, tenantId: b.tenantId },
      })
    ).json();
    await t.app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: bearer(inB.accessToken),
      payload: { name: 'partner key', scopes: ['read'] },
    });
    const { body: before } = await gql(t, '{ apiKeys { name createdBy { email } } }', {
      token: b.accessToken,
    });
    expect(before.data.apiKeys.find((k: { name: string }) => k.name === 'partner key').createdBy.email).toBe(
      partnerEmail,
    );
    const members = (await t.app.inject({ url: '/v1/members', headers: bearer(b.accessToken) })).json();
    await t.app.inject({
      method: 'DELETE',
      url: `/v1/members/${members.find((m: { email: string }) => m.email === partnerEmail).id}`,
      headers: bearer(b.accessToken),
    });
    const { body: after } = await gql(t, '{ apiKeys { name createdBy { email } } }', {
      token: b.accessToken,
    });
    expect(after.data.apiKeys.find((k: { name: string }) => k.name === 'partner key').createdBy).toBeNull();
  });
});

describe('the tenant itself', () => {
  it('should show each tenant only itself', async () => {
    expect((await t.app.inject({ url: '/v1/tenant', headers: bearer(b.accessToken) })).json().id).toBe(
      b.tenantId,
    );
    const { body } = await gql(t, '{ tenant { id name } me { tenants { id } } }', { token: b.accessToken });
    expect(JSON.stringify(body)).not.toContain(a.tenantId);
    expectProblem(
      await t.app.inject({
        method: 'POST',
        url: '/v1/auth/switch-tenant',
        headers: bearer(b.accessToken),
        payload: { tenantId: a.tenantId },
      }),
      404,
      'not_found',
    );
  });
});

/**
 * IMAP report mailboxes over GraphQL: reportMailboxes and reportMailbox answer field by field what
 * GET /v1/reports/mailboxes(/{id}) answers, with exactly the REST view's fields and never a secret;
 * the same permission (members read), API keys, and codes (not_found for a foreign or malformed
 * id, validation_failed where REST's params schema refuses); pollReportMailbox queues the same job
 * as the REST route, for admins only, and shares its per-address limit.
 */
import { decodeId } from '@mailwarden/core';
import { schema, withTenant } from '@mailwarden/db';
import { queueNames } from '@mailwarden/queue';
import { Queue } from 'bullmq';
import { eq } from 'drizzle-orm';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureOperation } from '../src/graphql/limits.ts';
import { ReportMailbox } from '../src/schemas/report-mailboxes.ts';
import {
  addMember,
  bearer,
  expectProblem,
  gql,
  nextIp,
  type SignedUp,
  signIn,
  signUp,
  uniqueEmail,
} from './auth-helpers.ts';
import { type MonitoringTestbed, startMonitoringTestbed } from './monitoring-helpers.ts';

const password = 'gql-Imap-Secret-Pass-5821';
const clientSecret = 'gql-oauth-Client-Secret-3390';
const refreshToken = 'gql-oauth-Refresh-Token-0.AXEA-9876543210';
const secrets = [password, clientSecret, refreshToken];

const FIELDS = `id host port security username auth hasPassword tokenUrl clientId scope hasClientSecret
  hasRefreshToken folder afterStore moveTo enabled description status lastPolledAt lastSuccessAt
  lastError { code detail } consecutiveFailures lastStoredCount lastSkippedCount nextPollAt createdAt updatedAt`;

let bed: MonitoringTestbed;
let owner: SignedUp;
/** A password mailbox whose last polls failed, an OAuth one, a disabled one: REST's order. */
let failing: string;
let oauth: string;
let disabled: string;
/** The sealed columns of this tenant's mailboxes, which must not appear either. */
let sealed: string[];

const codes = (body: { errors?: { extensions: { code: string } }[] }) =>
  (body.errors ?? []).map((e) => e.extensions.code);

const rest = (method: 'GET' | 'POST', url: string, token = owner.accessToken, remoteAddress = nextIp()) =>
  bed.t.app.inject({ method, url, headers: bearer(token), remoteAddress });

async function create(payload: object): Promise<string> {
  const res = await bed.t.app.inject({
    method: 'POST',
    url: '/v1/reports/mailboxes',
    headers: bearer(owner.accessToken),
    payload: { host: 'imap.gql-mailboxes.test', security: 'tls', username: 'dmarc@example.com', ...payload },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

beforeAll(async () => {
  bed = await startMonitoringTestbed({ PROBE_ALLOW_CIDRS: '127.0.0.0/8' });
  bed.dns.setRecords('imap.gql-mailboxes.test', 'A', ['127.0.0.5']);
  bed.dns.setRecords('login.gql-mailboxes.test', 'A', ['127.0.0.6']);
  owner = await signUp(bed.t);
  failing = await create({ password, description: 'rua mailbox', folder: 'Reports/DMARC' });
  oauth = await create({
    auth: 'oauth2',
    tokenUrl: 'https://login.gql-mailboxes.test/contoso.onmicrosoft.com/oauth2/v2.0/token',
    clientId: '00000000-aaaa-bbbb-cccc-000000000002',
    clientSecret,
    refreshToken,
    scope: 'https://outlook.office365.com/IMAP.AccessAsUser.All offline_access',
  });
  disabled = await create({ password, security: 'starttls', afterStore: 'flag', enabled: false });

  // What the worker records after failed polls (the poller's own tests cover how it gets there).
  const tenantId = decodeId('ten', owner.tenantId)!;
  await withTenant(bed.t.container.db, tenantId, (tx) =>
    tx
      .update(schema.reportMailboxes)
      .set({
        lastPolledAt: new Date('2026-11-02T10:05:00.123Z'),
        lastSuccessAt: new Date('2026-11-02T09:00:00Z'),
        lastErrorCode: 'imap.auth_failed',
        lastErrorDetail: 'NO [AUTHENTICATIONFAILED] Invalid credentials',
        consecutiveFailures: 5,
        lastStoredCount: 3,
        lastSkippedCount: 1,
      })
      .where(eq(schema.reportMailboxes.id, decodeId('mbx', failing)!)),
  );
  const rows = await withTenant(bed.t.container.db, tenantId, (tx) =>
    tx.select().from(schema.reportMailboxes),
  );
  sealed = rows.flatMap((r) =>
    [r.passwordCiphertext, r.oauthClientSecretCiphertext, r.oauthRefreshTokenCiphertext].filter(
      (v): v is string => v !== null,
    ),
  );
  expect(sealed).toHaveLength(4);
});
afterAll(() => bed?.close());

describe('reads', () => {
  it('should answer field by field what REST answers, in the same order', async () => {
    const list = await gql(bed.t, `{ reportMailboxes { ${FIELDS} } }`, { token: owner.accessToken });
    expect(list.body.errors).toBeUndefined();
    const restList = await rest('GET', '/v1/reports/mailboxes');
    expect(restList.statusCode).toBe(200);
    expect(list.body.data.reportMailboxes).toEqual(restList.json());
    expect(list.body.data.reportMailboxes.map((m: { id: string }) => m.id)).toEqual([
      failing,
      oauth,
      disabled,
    ]);

    for (const id of [failing, oauth, disabled]) {
      const one = await gql(bed.t, `query($id: ID!) { reportMailbox(id: $id) { ${FIELDS} } }`, {
        token: owner.accessToken,
        variables: { id },
      });
      expect(one.body.errors).toBeUndefined();
      const restOne = await rest('GET', `/v1/reports/mailboxes/${id}`);
      expect(restOne.statusCode).toBe(200);
      expect(one.body.data.reportMailbox).toEqual(restOne.json());
      // Every field of the REST view was asked for and answered, none left out of the comparison.
      expect(Object.keys(one.body.data.reportMailbox).sort()).toEqual(Object.keys(restOne.json()).sort());
    }

    // The states the data was made to have, so the comparison above covered them.
    const byId = new Map(list.body.data.reportMailboxes.map((m: { id: string }) => [m.id, m]));
    expect(byId.get(failing)).toMatchObject({
      status: 'failing',
      lastError: { code: 'imap.auth_failed', detail: 'NO [AUTHENTICATIONFAILED] Invalid credentials' },
      lastPolledAt: '2026-11-02T10:05:00.123Z',
      consecutiveFailures: 5,
      lastStoredCount: 3,
      lastSkippedCount: 1,
      folder: 'Reports/DMARC',
    });
    expect(byId.get(oauth)).toMatchObject({
      status: 'pending',
      auth: 'oauth2',
      hasPassword: false,
      hasClientSecret: true,
      hasRefreshToken: true,
      lastError: null,
    });
    expect(byId.get(disabled)).toMatchObject({
      status: 'disabled',
      security: 'starttls',
      port: 143,
      afterStore: 'flag',
      nextPollAt: null,
      tokenUrl: null,
    });
  });

  it("should have exactly the REST view's fields, and never a secret in any answer", async () => {
    const type = await gql(bed.t, '{ __type(name: "ReportMailbox") { fields { name } } }', {
      token: owner.accessToken,
    });
    const names = type.body.data.__type.fields.map((f: { name: string }) => f.name).sort();
    expect(names).toEqual(Object.keys(ReportMailbox.properties).sort());

    const bodies = [
      (await gql(bed.t, `{ reportMailboxes { ${FIELDS} } }`, { token: owner.accessToken })).res.body,
      ...(await Promise.all(
        [failing, oauth, disabled].map(
          async (id) =>
            (
              await gql(bed.t, `{ reportMailbox(id: "${id}") { ${FIELDS} } }`, { token: owner.accessToken })
            ).res.body,
        ),
      )),
    ];
    for (const body of bodies) {
      expect(body).toContain('"hasPassword"');
      for (const secret of [...secrets, ...sealed]) expect(body).not.toContain(secret);
      expect(body).not.toMatch(/ciphertext/i);
    }
    // Asking for a secret by name is a validation error, not an empty answer.
    for (const field of ['password', 'clientSecret', 'refreshToken', 'passwordCiphertext']) {
      const asked = await gql(bed.t, `{ reportMailboxes { id ${field} } }`, { token: owner.accessToken });
      expect(codes(asked.body), field).toEqual(['validation_failed']);
      expect(asked.body.data).toBeNull();
    }
  });

  it('should let members and read-only API keys read, and refuse anonymous callers', async () => {
    const query = `{ reportMailboxes { ${FIELDS} } reportMailbox(id: "${oauth}") { ${FIELDS} } }`;
    const asOwner = await gql(bed.t, query, { token: owner.accessToken });
    expect(asOwner.body.errors).toBeUndefined();

    for (const role of ['member', 'viewer']) {
      const email = uniqueEmail(role);
      const added = await addMember(bed.t, owner, email, role);
      const person = await signIn(bed.t, email, added.password, owner.tenantId);
      const answer = await gql(bed.t, query, { token: person.accessToken });
      expect(answer.body.errors, role).toBeUndefined();
      expect(answer.body.data, role).toEqual(asOwner.body.data);
      expect((await rest('GET', '/v1/reports/mailboxes', person.accessToken)).statusCode).toBe(200);
    }

    const key = (
      await bed.t.app.inject({
        method: 'POST',
        url: '/v1/api-keys',
        headers: bearer(owner.accessToken),
        payload: { name: 'dashboard', scopes: ['read'] },
      })
    ).json().key as string;
    const withKey = await gql(bed.t, query, { token: key });
    expect(withKey.body.errors).toBeUndefined();
    expect(withKey.body.data).toEqual(asOwner.body.data);

    for (const q of ['{ reportMailboxes { id } }', `{ reportMailbox(id: "${oauth}") { id } }`]) {
      const anonymous = await gql(bed.t, q);
      expect(anonymous.status).toBe(401);
      expect(codes(anonymous.body), q).toEqual(['unauthenticated']);
      expect(anonymous.body.data).toBeNull();
      expect(anonymous.res.body).not.toContain('imap.gql-mailboxes.test');
    }
  });

  it("should answer not_found for another tenant's id or a malformed one, like REST's 404", async () => {
    const other = await signUp(bed.t);
    const token = other.accessToken;
    const list = await gql(bed.t, '{ reportMailboxes { id } }', { token });
    expect(list.body.errors).toBeUndefined();
    expect(list.body.data.reportMailboxes).toEqual([]);
    expect((await rest('GET', '/v1/reports/mailboxes', token)).json()).toEqual([]);

    for (const id of [
      failing,
      oauth,
      'mbx_00000000000000000000000000',
      'whk_01jf8m3k2x9q7v5t4r6w8y0zab',
      'not-an-id',
    ]) {
      const { body } = await gql(bed.t, 'query($id: ID!) { reportMailbox(id: $id) { id host } }', {
        token,
        variables: { id },
      });
      expect(codes(body), id).toEqual(['not_found']);
      expect(body.data).toBeNull();
      expectProblem(await rest('GET', `/v1/reports/mailboxes/${id}`, token), 404, 'not_found');
    }
    // Longer than REST's params schema allows: both refuse it as input.
    const long = `mbx_${'0'.repeat(61)}`;
    const { body } = await gql(bed.t, `{ reportMailbox(id: "${long}") { id } }`, {
      token: owner.accessToken,
    });
    expect(codes(body)).toEqual(['validation_failed']);
    expectProblem(await rest('GET', `/v1/reports/mailboxes/${long}`), 400, 'validation_failed');
  });

  it('should count the list as its 10 mailboxes at most, without weights of its own', () => {
    const { schema: gqlSchema } = bed.t.app.graphql;
    const cost = (query: string) => measureOperation(gqlSchema, parse(query), undefined, {}).cost;
    // reportMailboxes 1 + 10 × (id + lastError + code): an unpaged list counts 10, the tenant cap.
    expect(cost('{ reportMailboxes { id lastError { code } } }')).toBe(1 + 10 * 3);
    expect(cost(`{ reportMailboxes { ${FIELDS} } }`)).toBeLessThan(bed.t.config.GRAPHQL_MAX_COST);
  });
});

describe('pollReportMailbox', () => {
  const POLL = 'mutation($id: ID!) { pollReportMailbox(id: $id) { id } }';

  it('should queue the same poll as REST, for owners, admins and admin API keys only', async () => {
    const queue = new Queue(queueNames.reportMailboxes, {
      connection: bed.t.container.redis,
      prefix: bed.t.config.QUEUE_PREFIX,
    });
    try {
      await queue.obliterate({ force: true });
      const polled = await gql(bed.t, POLL, { token: owner.accessToken, variables: { id: oauth } });
      expect(polled.body.errors).toBeUndefined();
      expect(polled.body.data.pollReportMailbox).toEqual({ id: oauth });
      const jobs = await queue.getJobs(['waiting', 'delayed', 'active']);
      expect(jobs.map((j) => [j.name, j.data])).toEqual([
        ['poll-mailbox', { tenantId: decodeId('ten', owner.tenantId), mailboxId: decodeId('mbx', oauth) }],
      ]);
      // The service marked it due now, as for REST.
      const [row] = await withTenant(bed.t.container.db, decodeId('ten', owner.tenantId)!, (tx) =>
        tx
          .select()
          .from(schema.reportMailboxes)
          .where(eq(schema.reportMailboxes.id, decodeId('mbx', oauth)!)),
      );
      expect(row!.nextPollAt.getTime()).toBeLessThanOrEqual(Date.now());

      const adminKey = (
        await bed.t.app.inject({
          method: 'POST',
          url: '/v1/api-keys',
          headers: bearer(owner.accessToken),
          payload: { name: 'ops', scopes: ['admin'] },
        })
      ).json().key as string;
      const byKey = await gql(bed.t, POLL, { token: adminKey, variables: { id: failing } });
      expect(byKey.body.errors).toBeUndefined();
      expect(byKey.body.data.pollReportMailbox).toEqual({ id: failing });
      const readKey = (
        await bed.t.app.inject({
          method: 'POST',
          url: '/v1/api-keys',
          headers: bearer(owner.accessToken),
          payload: { name: 'reader', scopes: ['read'] },
        })
      ).json().key as string;

      const email = uniqueEmail('member');
      const added = await addMember(bed.t, owner, email, 'member');
      const member = await signIn(bed.t, email, added.password, owner.tenantId);
      const other = await signUp(bed.t);
      for (const [token, id, code] of [
        [member.accessToken, oauth, 'forbidden'],
        [readKey, oauth, 'forbidden'],
        [undefined, oauth, 'unauthenticated'],
        [other.accessToken, oauth, 'not_found'],
        [owner.accessToken, 'mbx_00000000000000000000000000', 'not_found'],
        [owner.accessToken, disabled, 'validation_failed'],
      ] as const) {
        const { body } = await gql(bed.t, POLL, { ...(token ? { token } : {}), variables: { id } });
        expect(codes(body), `${code} ${id}`).toEqual([code]);
        expect(body.data).toEqual({ pollReportMailbox: null });
      }
      // REST refuses the same callers with the same codes.
      expectProblem(
        await rest('POST', `/v1/reports/mailboxes/${oauth}/poll`, member.accessToken),
        403,
        'forbidden',
      );
      expectProblem(
        await rest('POST', `/v1/reports/mailboxes/${oauth}/poll`, other.accessToken),
        404,
        'not_found',
      );
      expectProblem(await rest('POST', `/v1/reports/mailboxes/${disabled}/poll`), 400, 'validation_failed');
      // The refused polls queued nothing: only the two accepted ones are there.
      expect(
        (await queue.getJobs(['waiting', 'delayed', 'active'])).map((j) => j.data.mailboxId).sort(),
      ).toEqual([decodeId('mbx', failing), decodeId('mbx', oauth)].sort());
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });

  it("should share REST's limit of 6 a minute per address, each alias counting one", async () => {
    const ip = nextIp();
    for (let i = 0; i < 3; i++)
      expect(
        (await rest('POST', `/v1/reports/mailboxes/${failing}/poll`, owner.accessToken, ip)).statusCode,
      ).toBe(202);
    const aliased = await gql(
      bed.t,
      `mutation($id: ID!) { a: pollReportMailbox(id: $id) { id } b: pollReportMailbox(id: $id) { id }
         c: pollReportMailbox(id: $id) { id } d: pollReportMailbox(id: $id) { id } }`,
      { token: owner.accessToken, variables: { id: failing }, ip },
    );
    expect(aliased.body.data).toEqual({
      a: { id: failing },
      b: { id: failing },
      c: { id: failing },
      d: null,
    });
    expect(aliased.body.errors).toHaveLength(1);
    expect(aliased.body.errors[0]).toMatchObject({ path: ['d'], extensions: { code: 'rate_limited' } });
    const limited = await rest('POST', `/v1/reports/mailboxes/${failing}/poll`, owner.accessToken, ip);
    expectProblem(limited, 429, 'rate_limited');
    expect(limited.headers['retry-after']).toBeDefined();
    // Another address has a counter of its own.
    expect(
      (await rest('POST', `/v1/reports/mailboxes/${failing}/poll`, owner.accessToken, nextIp())).statusCode,
    ).toBe(202);
  });
});

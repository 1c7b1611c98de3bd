/**
 * IMAP report mailboxes over REST: create (password write-only, stored sealed), list, show,
 * change, poll now (queued for the worker, rate limited), delete; SSRF refusal of the host at save
 * time; admins only for writes; audit entries; another tenant sees a 404 for every id. OAuth 2.0
 * mailboxes: the client secret and refresh token are write-only too, sealed, and in no response,
 * export or audit entry; the token endpoint is https only and vetted like the host.
 */
import { decodeId } from '@mailwarden/core';
import { schema, withTenant } from '@mailwarden/db';
import { queueNames } from '@mailwarden/queue';
import { Queue } from 'bullmq';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  bearer,
  expectProblem,
  nextIp,
  type SignedUp,
  signIn,
  signUp,
  uniqueEmail,
} from './auth-helpers.ts';
import { type MonitoringTestbed, startMonitoringTestbed } from './monitoring-helpers.ts';

let bed: MonitoringTestbed;
let owner: SignedUp;
const password = 'imap-Secret-Pass-4711';

beforeAll(async () => {
  bed = await startMonitoringTestbed({ PROBE_ALLOW_CIDRS: '127.0.0.0/8' });
  bed.dns.setRecords('imap.mailboxes.test', 'A', ['127.0.0.5']);
  bed.dns.setRecords('internal.mailboxes.test', 'A', ['10.20.30.40']);
  bed.dns.setRecords('login.mailboxes.test', 'A', ['127.0.0.6']);
  owner = await signUp(bed.t);
});
afterAll(() => bed.close());

const call = (
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  payload?: object,
  token = owner.accessToken,
  remoteAddress?: string,
) =>
  bed.t.app.inject({
    method,
    url,
    headers: bearer(token),
    ...(payload ? { payload } : {}),
    ...(remoteAddress ? { remoteAddress } : {}),
  });

const create = (payload: object = {}, token = owner.accessToken) =>
  call(
    'POST',
    '/v1/reports/mailboxes',
    { host: 'imap.mailboxes.test', security: 'tls', username: 'dmarc@example.com', password, ...payload },
    token,
  );

describe('report mailboxes', () => {
  it('should create a mailbox without ever returning its password, and store it sealed', async () => {
    const created = await create({ description: 'rua mailbox' });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.body).not.toContain(password);
    const mailbox = created.json();
    expect(mailbox).toMatchObject({
      host: 'imap.mailboxes.test',
      port: 993,
      security: 'tls',
      username: 'dmarc@example.com',
      hasPassword: true,
      folder: 'INBOX',
      afterStore: 'move',
      moveTo: 'Mailwarden/Processed',
      enabled: true,
      status: 'pending',
      lastError: null,
      lastPolledAt: null,
    });
    expect(mailbox.id).toMatch(/^mbx_/);
    expect(created.headers.location).toBe(`/v1/reports/mailboxes/${mailbox.id}`);

    const tenantId = decodeId('ten', owner.tenantId)!;
    const [row] = await withTenant(bed.t.container.db, tenantId, (tx) =>
      tx.select().from(schema.reportMailboxes),
    );
    expect(row!.passwordCiphertext).toMatch(/^v1\./);
    expect(row!.passwordCiphertext).not.toContain(password);
    expect(Buffer.from(row!.passwordCiphertext.split('.')[3]!, 'base64url').toString('latin1')).not.toContain(
      password,
    );

    for (const res of [
      await call('GET', '/v1/reports/mailboxes'),
      await call('GET', `/v1/reports/mailboxes/${mailbox.id}`),
    ]) {
      expect(res.statusCode).toBe(200);
      expect(res.body).not.toContain(password);
      expect(res.body).not.toContain('passwordCiphertext');
    }

    // The tenant export carries the settings, never the password nor its sealed form.
    const exported = await call('GET', '/v1/tenant/export');
    expect(exported.statusCode).toBe(200);
    expect(exported.json().reports.mailboxes).toContainEqual(
      expect.objectContaining({ id: mailbox.id, host: 'imap.mailboxes.test', hasPassword: true }),
    );
    expect(exported.body).not.toContain(password);
    expect(exported.body).not.toContain(row!.passwordCiphertext);
    expect(exported.body).not.toMatch(/passwordCiphertext|password_ciphertext/);

    // A new password replaces the sealed one; the audit log names the field, never the value.
    const patched = await call('PATCH', `/v1/reports/mailboxes/${mailbox.id}`, {
      password: 'a-new-Secret-99',
      security: 'starttls',
      afterStore: 'flag',
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({
      security: 'starttls',
      port: 143,
      afterStore: 'flag',
      hasPassword: true,
    });
    expect(patched.body).not.toContain('a-new-Secret-99');
    const [resealed] = await withTenant(bed.t.container.db, tenantId, (tx) =>
      tx.select().from(schema.reportMailboxes),
    );
    expect(resealed!.passwordCiphertext).not.toBe(row!.passwordCiphertext);

    const audit = await call('GET', '/v1/audit-events?limit=20');
    const actions = audit
      .json()
      .items.filter((e: { action: string }) => e.action.startsWith('report_mailbox.'));
    expect(actions.map((e: { action: string }) => e.action)).toEqual(
      expect.arrayContaining(['report_mailbox.created', 'report_mailbox.updated']),
    );
    expect(audit.body).not.toContain('a-new-Secret-99');
    expect(audit.body).not.toContain(password);

    expect((await call('DELETE', `/v1/reports/mailboxes/${mailbox.id}`)).statusCode).toBe(204);
    expectProblem(await call('GET', `/v1/reports/mailboxes/${mailbox.id}`), 404, 'not_found');
    const after = await call('GET', '/v1/audit-events?limit=5');
    expect(after.json().items[0]).toMatchObject({ action: 'report_mailbox.deleted' });
  });

  it('should refuse hosts that are not public, and never plaintext', async () => {
    for (const host of [
      '10.0.0.8',
      '169.254.169.254',
      'internal.mailboxes.test',
      '[fd00::1]',
      'nxdomain.mailboxes.test',
    ]) {
      const res = await create({ host });
      expectProblem(res, 400, 'mailbox_host_refused');
      expect(res.json().errors[0].location).toBe('body.host');
    }
    for (const payload of [
      { security: 'none' },
      { security: 'plain' },
      { port: 0 },
      { password: '' },
      { password: undefined },
      { folder: 'INBOX', moveTo: 'inbox' },
      { folder: 'Reports//DMARC' },
      { username: 'a\r\nb' },
      { unknown: true },
    ]) {
      const res = await create(payload);
      expectProblem(res, 400, 'validation_failed');
    }
    expect((await call('GET', '/v1/reports/mailboxes')).json()).toEqual([]);
  });

  it('should queue a poll now for the worker and limit how often', async () => {
    const created = await create();
    const { id } = created.json();
    const queue = new Queue(queueNames.reportMailboxes, {
      connection: bed.t.container.redis,
      prefix: bed.t.config.QUEUE_PREFIX,
    });
    try {
      const res = await call('POST', `/v1/reports/mailboxes/${id}/poll`);
      expect(res.statusCode, res.body).toBe(202);
      const jobs = await queue.getJobs(['waiting', 'delayed', 'active']);
      expect(jobs.map((j) => [j.name, j.data])).toEqual([
        ['poll-mailbox', { tenantId: decodeId('ten', owner.tenantId), mailboxId: decodeId('mbx', id) }],
      ]);
      let limited = false;
      for (let i = 0; i < 8 && !limited; i++)
        limited = (await call('POST', `/v1/reports/mailboxes/${id}/poll`)).statusCode === 429;
      expect(limited).toBe(true);
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
      await call('DELETE', `/v1/reports/mailboxes/${id}`);
    }
  });

  it('should let members read but only admins change mailboxes, and hide them from other tenants', async () => {
    const created = await create();
    expect(created.statusCode, created.body).toBe(201);
    const { id } = created.json();

    const memberEmail = uniqueEmail('member');
    const added = await addMember(bed.t, owner, memberEmail, 'member');
    const member = await signIn(bed.t, memberEmail, added.password, owner.tenantId);
    expect((await call('GET', `/v1/reports/mailboxes/${id}`, undefined, member.accessToken)).statusCode).toBe(
      200,
    );
    expectProblem(await create({}, member.accessToken), 403, 'forbidden');
    expectProblem(
      await call('PATCH', `/v1/reports/mailboxes/${id}`, { enabled: false }, member.accessToken),
      403,
      'forbidden',
    );
    expectProblem(
      await call('DELETE', `/v1/reports/mailboxes/${id}`, undefined, member.accessToken),
      403,
      'forbidden',
    );

    const other = await signUp(bed.t);
    expect((await call('GET', '/v1/reports/mailboxes', undefined, other.accessToken)).json()).toEqual([]);
    for (const [method, url, payload] of [
      ['GET', `/v1/reports/mailboxes/${id}`, undefined],
      ['PATCH', `/v1/reports/mailboxes/${id}`, { enabled: false }],
      ['POST', `/v1/reports/mailboxes/${id}/poll`, undefined],
      ['DELETE', `/v1/reports/mailboxes/${id}`, undefined],
      ['GET', '/v1/reports/mailboxes/mbx_00000000000000000000000000', undefined],
      ['GET', '/v1/reports/mailboxes/whk_01jf8m3k2x9q7v5t4r6w8y0zab', undefined],
    ] as const) {
      // From an address of its own: the poll-now limit of the earlier test is per client address.
      expectProblem(await call(method, url, payload, other.accessToken, nextIp()), 404, 'not_found');
    }
    // Untouched by all that.
    expect((await call('GET', `/v1/reports/mailboxes/${id}`)).json()).toMatchObject({ enabled: true });

    // A disabled mailbox is not polled on request.
    await call('PATCH', `/v1/reports/mailboxes/${id}`, { enabled: false });
    expectProblem(
      await call('POST', `/v1/reports/mailboxes/${id}/poll`, undefined, owner.accessToken, nextIp()),
      400,
      'validation_failed',
    );
    expect((await call('GET', `/v1/reports/mailboxes/${id}`)).json()).toMatchObject({
      status: 'disabled',
      nextPollAt: null,
    });
    await call('DELETE', `/v1/reports/mailboxes/${id}`);
  });

  it('should take OAuth 2.0 settings with write-only secrets, sealed, in no response, export or audit', async () => {
    const clientSecret = 'oauth-Client-Secret-8472';
    const refreshToken = 'oauth-Refresh-Token-0.AXEA-1234567890';
    const oauth = {
      auth: 'oauth2',
      password: undefined,
      tokenUrl: 'https://login.mailboxes.test/contoso.onmicrosoft.com/oauth2/v2.0/token',
      clientId: '00000000-aaaa-bbbb-cccc-000000000001',
      clientSecret,
      refreshToken,
      scope: 'https://outlook.office365.com/IMAP.AccessAsUser.All offline_access',
    };
    const created = await create(oauth);
    expect(created.statusCode, created.body).toBe(201);
    const mailbox = created.json();
    expect(mailbox).toMatchObject({
      auth: 'oauth2',
      hasPassword: false,
      tokenUrl: oauth.tokenUrl,
      clientId: oauth.clientId,
      scope: oauth.scope,
      hasClientSecret: true,
      hasRefreshToken: true,
    });
    const secrets = [clientSecret, refreshToken];
    const tenantId = decodeId('ten', owner.tenantId)!;
    const [row] = await withTenant(bed.t.container.db, tenantId, (tx) =>
      tx
        .select()
        .from(schema.reportMailboxes)
        .where(eq(schema.reportMailboxes.id, decodeId('mbx', mailbox.id)!)),
    );
    expect(row).toMatchObject({ auth: 'oauth2', passwordCiphertext: null });
    expect(row!.oauthClientSecretCiphertext).toMatch(/^v1\./);
    expect(row!.oauthRefreshTokenCiphertext).toMatch(/^v1\./);

    const patched = await call('PATCH', `/v1/reports/mailboxes/${mailbox.id}`, {
      refreshToken: 'oauth-Refresh-Token-rotated-by-hand',
      clientSecret: null,
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ hasClientSecret: false, hasRefreshToken: true });
    secrets.push('oauth-Refresh-Token-rotated-by-hand');

    const bodies = [
      created.body,
      patched.body,
      (await call('GET', '/v1/reports/mailboxes')).body,
      (await call('GET', `/v1/reports/mailboxes/${mailbox.id}`)).body,
    ];
    const exported = await call('GET', '/v1/tenant/export');
    expect(exported.json().reports.mailboxes).toContainEqual(
      expect.objectContaining({
        id: mailbox.id,
        auth: 'oauth2',
        oauthTokenUrl: oauth.tokenUrl,
        hasPassword: false,
        hasClientSecret: false,
        hasRefreshToken: true,
      }),
    );
    expect(exported.body).not.toMatch(/Ciphertext|_ciphertext/);
    const audit = await call('GET', '/v1/audit-events?limit=20');
    const updated = audit
      .json()
      .items.find((e: { action: string; target: { id: string } }) => e.action === 'report_mailbox.updated');
    expect(updated.details).toEqual({ fields: ['refreshToken', 'clientSecret'] });
    for (const body of [...bodies, exported.body, audit.body])
      for (const secret of secrets) expect(body).not.toContain(secret);
    const [resealed] = await withTenant(bed.t.container.db, tenantId, (tx) =>
      tx.select().from(schema.reportMailboxes).where(eq(schema.reportMailboxes.id, row!.id)),
    );
    expect(resealed!.oauthClientSecretCiphertext).toBeNull();
    for (const sealed of [row!.oauthRefreshTokenCiphertext!, resealed!.oauthRefreshTokenCiphertext!])
      expect(exported.body + audit.body).not.toContain(sealed);

    // https only, a vetted host, and each kind with its own fields.
    for (const [payload, location] of [
      [{ ...oauth, tokenUrl: 'http://login.mailboxes.test/token' }, 'body.tokenUrl'],
      [{ ...oauth, tokenUrl: 'https://login.mailboxes.test/token#x' }, 'body.tokenUrl'],
      [{ ...oauth, refreshToken: undefined }, 'body.refreshToken'],
      [{ ...oauth, clientId: undefined }, 'body.clientId'],
      [{ ...oauth, password }, 'body.password'],
      [{ ...oauth, scope: 'a "b"' }, 'body.scope'],
      [{ auth: undefined, clientId: 'c' }, 'body.clientId'],
    ] as const) {
      const res = await create(payload);
      expectProblem(res, 400, 'validation_failed');
      expect(res.json().errors[0].location).toBe(location);
    }
    const refused = await create({ ...oauth, tokenUrl: 'https://internal.mailboxes.test/token' });
    expectProblem(refused, 400, 'mailbox_host_refused');
    expect(refused.json().errors[0].location).toBe('body.tokenUrl');
    await call('DELETE', `/v1/reports/mailboxes/${mailbox.id}`);
  });

  it('should cap the mailboxes of one tenant', async () => {
    const tenant = await signUp(bed.t);
    for (let i = 0; i < 10; i++) expect((await create({}, tenant.accessToken)).statusCode).toBe(201);
    expectProblem(await create({}, tenant.accessToken), 403, 'quota_exceeded');
  });
});

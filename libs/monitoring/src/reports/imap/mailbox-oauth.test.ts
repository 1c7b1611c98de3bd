/**
 * OAuth 2.0 report mailboxes against real servers on loopback: a Dovecot that takes bearer tokens
 * (SASL OAUTHBEARER and XOAUTH2, checked by its `oauth2` passdb against an introspection endpoint),
 * and an HTTPS token endpoint (test CA) that answers the refresh-token grant like Microsoft's and
 * Google's. The poll gets a token through the SSRF guard, caches it, stores a rotated refresh token
 * sealed, records the provider's refusals as stable codes, and never puts a secret or a token in a
 * log line, a mailbox field or an event. Nothing is mocked.
 */

import { readFileSync } from 'node:fs';
import net from 'node:net';
import { type Clock, createSecretBox, type Logger, systemClock } from '@mailwarden/core';
import { type Database, schema, withTenant } from '@mailwarden/db';
import { createDnsClient, type DnsClient, parseAllowList } from '@mailwarden/net';
import { corpusPath } from '@mailwarden/testing/corpus';
import { createTestTenant, openTestDatabase } from '@mailwarden/testing/db';
import { startDnsServer, type TestDnsServer } from '@mailwarden/testing/dns-server';
import {
  buildReportMail,
  startDovecot,
  startOAuthProvider,
  type TestDovecot,
  type TestOAuthProvider,
} from '@mailwarden/testing/dovecot';
import { createTestCa, type TestCa } from '@mailwarden/testing/tls';
import { eq } from 'drizzle-orm';
import type pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailboxPoller, type MailboxPollerOptions } from './mailbox-poller.ts';
import {
  createReportMailboxesService,
  mailboxRefreshTokenContext,
  type ReportMailboxInput,
} from './report-mailboxes.service.ts';

const TOKEN_HOST = 'login.oauth.test';
const TOKEN_IP = '127.0.0.71';
const PUBLIC_CLIENT = 'public-app';

let pool: pg.Pool;
let db: Database;
let ca: TestCa;
let provider: TestOAuthProvider;
let dovecot: TestDovecot;
let dns: TestDnsServer;
let resolver: DnsClient;
const box = createSecretBox(Buffer.alloc(32, 11));
const allowOf = (text: string) => {
  const parsed = parseAllowList(text);
  if (!parsed.ok) throw new Error(parsed.errors.join());
  return parsed.allow;
};
const loopback = allowOf('127.0.0.0/8');
let nextUser = 0;
/** Every log line of every poll in this file, at every level. */
const lines: string[] = [];
const log: Logger = pino({ level: 'trace' }, { write: (line: string) => lines.push(line) });

const report = () =>
  buildReportMail({
    attachment: readFileSync(
      corpusPath(
        'dmarc-aggregate',
        'samuelba-dmarc-report-visualizer',
        'google.com!example.com!1701129600!1701215999.xml.gz',
      ),
    ),
    filename: 'google.com!example.com!1701129600!1701215999.xml.gz',
  });

beforeAll(async () => {
  ({ pool, db } = openTestDatabase());
  ca = await createTestCa();
  provider = await startOAuthProvider({
    host: TOKEN_IP,
    certNames: [TOKEN_HOST],
    ca,
    clients: [
      { clientId: 'mailwarden-test', clientSecret: `cs-${Math.random().toString(36).slice(2)}-secret` },
      { clientId: PUBLIC_CLIENT },
    ],
  });
  dovecot = await startDovecot({ ca, oauth2: { introspectionUrl: provider.introspectionUrl } });
  dns = await startDnsServer({
    zones: {
      test: {
        records: {
          [TOKEN_HOST]: { A: [TOKEN_IP] },
          'private.oauth.test': { A: ['10.9.8.7'] },
        },
      },
    },
  });
  resolver = createDnsClient({ servers: [{ host: dns.host, port: dns.port }], cache: false });
});

afterAll(async () => {
  resolver?.close();
  await dns?.close();
  await dovecot?.close();
  await provider?.close();
  await pool?.end();
});

function poller(overrides: Partial<MailboxPollerOptions> = {}) {
  return createMailboxPoller({
    db,
    clock: systemClock,
    box,
    resolver,
    allow: loopback,
    ca: [ca.certPem],
    pollIntervalSeconds: 300,
    maxMessageBytes: 1024 * 1024,
    pollDeadlineMs: 20_000,
    connectTimeoutMs: 5_000,
    tokenTimeoutMs: 5_000,
    enqueueParse: async () => {},
    ...overrides,
  });
}

const tokenUrl = () => `https://${TOKEN_HOST}:${provider.tokenPort}/token`;
const service = () =>
  createReportMailboxesService({ db, clock: systemClock, box, vet: { resolver, allow: loopback } });

/**
 * A tenant and an `oauth2` mailbox for a user of its own, with a refresh token that user granted
 * the mailbox's client.
 */
async function setup(input: Partial<ReportMailboxInput> = {}, server: TestDovecot = dovecot) {
  const tenant = await createTestTenant(db);
  const user = `oauth-${nextUser++}`;
  const clientId = input.clientId ?? provider.client.clientId;
  const refreshToken = provider.grant(user, { clientId });
  const view = await service().create(tenant.id, {
    host: '127.0.0.1',
    port: server.imapsPort,
    security: 'tls',
    username: user,
    auth: 'oauth2',
    tokenUrl: tokenUrl(),
    clientId,
    clientSecret: provider.client.clientSecret!,
    refreshToken,
    scope: 'https://mail.test/imap  offline_access',
    ...input,
  });
  const [row] = await withTenant(db, tenant.id, (tx) => tx.select().from(schema.reportMailboxes));
  return { tenantId: tenant.id, user, refreshToken, mailboxId: row!.id, view };
}

async function mailbox(tenantId: string) {
  const [row] = await withTenant(db, tenantId, (tx) => tx.select().from(schema.reportMailboxes));
  return row!;
}

/** Token requests made with these refresh tokens (the tests share the provider). */
const requestsFor = (...refreshTokens: string[]) =>
  provider.tokenRequests.filter((r) => refreshTokens.includes(r.form.refresh_token ?? ''));

/**
 * No secret the provider knows or issued (client secret, refresh tokens, access tokens) in any log
 * line so far, nor in the tenant's mailbox fields that are not sealed, nor in its events.
 */
async function expectNoSecrets(tenantId: string) {
  const secrets = new Set<string>([
    provider.client.clientSecret!,
    ...provider.liveRefreshTokens(),
    ...provider.accessTokensIssued,
  ]);
  for (const r of provider.tokenRequests) if (r.form.refresh_token) secrets.add(r.form.refresh_token);
  const { passwordCiphertext, oauthClientSecretCiphertext, oauthRefreshTokenCiphertext, ...open } =
    await mailbox(tenantId);
  const events = await withTenant(db, tenantId, (tx) => tx.select().from(schema.monitoringEvents));
  const shown = await service().list(tenantId);
  const haystack = [
    lines.join('\n'),
    JSON.stringify(open),
    JSON.stringify(events),
    JSON.stringify(shown),
  ].join('\n');
  for (const secret of secrets) expect(haystack).not.toContain(secret);
  // The sealed columns hold ciphertext only.
  for (const sealed of [passwordCiphertext, oauthClientSecretCiphertext, oauthRefreshTokenCiphertext])
    if (sealed) for (const secret of secrets) expect(sealed).not.toContain(secret);
}

async function closedPort(host: string): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('OAuth 2.0 report mailboxes', () => {
  it('should refresh an access token, log in with OAUTHBEARER, store the mail, and reuse the token', async () => {
    const { tenantId, user, refreshToken, mailboxId, view } = await setup();
    expect(view).toMatchObject({
      auth: 'oauth2',
      hasPassword: false,
      tokenUrl: tokenUrl(),
      clientId: provider.client.clientId,
      scope: 'https://mail.test/imap offline_access',
      hasClientSecret: true,
      hasRefreshToken: true,
    });
    dovecot.deliver(user, await report());
    const introspected = provider.introspections.length;
    const p = poller();

    const first = await p.poll(tenantId, mailboxId, log);
    expect(first, JSON.stringify(first.error)).toMatchObject({ state: 'polled', stored: 1 });
    expect(dovecot.count(user, 'Mailwarden/Processed')).toBe(1);
    // RFC 6749 §6: one form POST, the client authenticated in the body, over TLS to the name given.
    expect(requestsFor(refreshToken)).toEqual([
      {
        form: {
          grant_type: 'refresh_token',
          refresh_token: refreshToken,
          client_id: provider.client.clientId,
          client_secret: provider.client.clientSecret,
          scope: 'https://mail.test/imap offline_access',
        },
        contentType: 'application/x-www-form-urlencoded',
        servername: TOKEN_HOST,
        status: 200,
      },
    ]);
    expect(dovecot.log()).toMatch(new RegExp(`Login: user=<${user}>, method=OAUTHBEARER`));

    // The second poll logs in with the cached token: Dovecot checks it again, the endpoint is not asked.
    dovecot.deliver(user, await report());
    const second = await p.poll(tenantId, mailboxId, log);
    expect(second).toMatchObject({ state: 'polled', stored: 1 });
    expect(requestsFor(refreshToken)).toHaveLength(1);
    expect(provider.introspections.slice(introspected)).toEqual([{ active: true }, { active: true }]);
    expect(await mailbox(tenantId)).toMatchObject({ lastErrorCode: null, consecutiveFailures: 0 });

    // A changed setting is a new version of the mailbox: its cached token is not used.
    await service().update(tenantId, view.id, { scope: 'https://mail.test/imap' });
    expect(await p.poll(tenantId, mailboxId, log)).toMatchObject({ state: 'polled' });
    expect(requestsFor(refreshToken).map((r) => r.form.scope)).toEqual([
      'https://mail.test/imap offline_access',
      'https://mail.test/imap',
    ]);
    await expectNoSecrets(tenantId);
  });

  it('should log in with XOAUTH2 where the server offers only that, as a public client', async () => {
    const xoauth = await startDovecot({
      ca,
      oauth2: { introspectionUrl: provider.introspectionUrl, mechanisms: ['xoauth2'] },
    });
    try {
      const { tenantId, user, refreshToken, mailboxId, view } = await setup(
        { port: xoauth.imapsPort, clientId: PUBLIC_CLIENT, clientSecret: undefined, scope: undefined },
        xoauth,
      );
      expect(view).toMatchObject({ hasClientSecret: false, hasRefreshToken: true, scope: null });
      xoauth.deliver(user, await report());
      const polled = await poller().poll(tenantId, mailboxId, log);
      expect(polled, JSON.stringify(polled.error)).toMatchObject({ state: 'polled', stored: 1 });
      expect(xoauth.log()).toMatch(new RegExp(`Login: user=<${user}>, method=XOAUTH2`));
      // A public client sends its id alone (RFC 6749 §2.1); no scope was set, none is sent.
      expect(requestsFor(refreshToken).map((r) => r.form)).toEqual([
        { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: PUBLIC_CLIENT },
      ]);
      await expectNoSecrets(tenantId);
    } finally {
      await xoauth.close();
    }
  });

  it('should store a rotated refresh token sealed, and never over one the tenant set meanwhile', async () => {
    const { tenantId, user, refreshToken, mailboxId, view } = await setup();
    dovecot.deliver(user, await report());
    provider.rotate = true;
    try {
      expect(await poller().poll(tenantId, mailboxId, log)).toMatchObject({ state: 'polled', stored: 1 });
      const row = await mailbox(tenantId);
      const stored = box
        .open(row.oauthRefreshTokenCiphertext!, mailboxRefreshTokenContext(mailboxId))
        .toString();
      expect(stored).not.toBe(refreshToken);
      expect(provider.liveRefreshTokens()).toContain(stored);
      expect(provider.liveRefreshTokens()).not.toContain(refreshToken);
      expect(row.oauthRefreshTokenCiphertext).not.toContain(stored);

      // A new worker (no cache) refreshes with the rotated token, and stores the next one.
      expect(await poller().poll(tenantId, mailboxId, log)).toMatchObject({ state: 'polled' });
      expect(requestsFor(stored)).toHaveLength(1);
      const next = box
        .open((await mailbox(tenantId)).oauthRefreshTokenCiphertext!, mailboxRefreshTokenContext(mailboxId))
        .toString();
      expect(provider.liveRefreshTokens()).toContain(next);

      // The tenant authorises again while a poll is refreshing: its token wins over the rotated one.
      const fromTenant = provider.grant(user);
      provider.override = async (form) => {
        if (form.refresh_token !== next) return undefined;
        await service().update(tenantId, view.id, { refreshToken: fromTenant });
        return undefined;
      };
      expect(await poller().poll(tenantId, mailboxId, log)).toMatchObject({ state: 'polled' });
      const kept = box
        .open((await mailbox(tenantId)).oauthRefreshTokenCiphertext!, mailboxRefreshTokenContext(mailboxId))
        .toString();
      expect(kept).toBe(fromTenant);
      await expectNoSecrets(tenantId);
    } finally {
      provider.rotate = false;
      provider.override = undefined;
    }
  });

  it('should refresh once when the server refuses a cached token, and not retry a fresh one', async () => {
    const { tenantId, user, refreshToken, mailboxId } = await setup();
    const p = poller();
    expect(await p.poll(tenantId, mailboxId, log)).toMatchObject({ state: 'polled' });
    // Revoked at the provider: the cached token no longer passes introspection.
    provider.revokeAccessTokens();
    dovecot.deliver(user, await report());
    const retried = await p.poll(tenantId, mailboxId, log);
    expect(retried, JSON.stringify(retried.error)).toMatchObject({ state: 'polled', stored: 1 });
    expect(requestsFor(refreshToken)).toHaveLength(2);

    // A token for another user is refused at once, with the status the server gave; no second try.
    const other = await setup();
    await service().update(other.tenantId, other.view.id, { refreshToken: provider.grant(`${user}-else`) });
    const before = provider.tokenRequests.length;
    const refused = await poller().poll(other.tenantId, other.mailboxId, log);
    expect(refused.error).toMatchObject({ code: 'imap.auth_failed' });
    expect(refused.error?.detail).toContain('OAuth status invalid_token');
    expect(provider.tokenRequests.length - before).toBe(1);
    await expectNoSecrets(other.tenantId);
  });

  it('should record invalid_grant as imap.oauth_refresh_failed, retrying and then failing with an alert', async () => {
    const { tenantId, refreshToken, mailboxId, view } = await setup();
    provider.revoke(refreshToken);
    const p = poller();
    for (let i = 1; i <= 5; i++) {
      const result = await p.poll(tenantId, mailboxId, log);
      expect(result).toMatchObject({ state: 'failed', error: { code: 'imap.oauth_refresh_failed' } });
      expect(result.error?.detail).toMatch(/refused the refresh: HTTP 400 invalid_grant/);
      const shown = await service().get(tenantId, view.id);
      expect(shown.status).toBe(i < 5 ? 'retrying' : 'failing');
      expect(shown.consecutiveFailures).toBe(i);
    }
    const [event] = await withTenant(db, tenantId, (tx) => tx.select().from(schema.monitoringEvents));
    expect(event).toMatchObject({
      type: 'report_mailbox.failing',
      payload: { lastError: { code: 'imap.oauth_refresh_failed' }, consecutiveFailures: 5 },
    });
    // The endpoint was asked every time: a refused grant is never cached.
    expect(requestsFor(refreshToken)).toHaveLength(5);
    // The log says what happened (the capture sees every level), and nothing secret.
    expect(lines.some((l) => l.includes('imap.oauth_refresh_failed') && l.includes('invalid_grant'))).toBe(
      true,
    );
    expect(lines.some((l) => l.includes('report mailbox access token refreshed'))).toBe(true);
    await expectNoSecrets(tenantId);
  });

  it('should cut secrets out of what a provider says, and tell a refusal from an outage', async () => {
    const { tenantId, refreshToken, mailboxId, view } = await setup();
    const p = poller();
    // A provider that echoes what it was sent in its error text.
    provider.override = (form) => ({
      status: 400,
      body: JSON.stringify({
        error: 'invalid_client',
        error_description: `AADSTS7000215: bad secret ${form.client_secret} for ${form.refresh_token} ${'x'.repeat(60)}`,
      }),
    });
    try {
      const echoed = await p.poll(tenantId, mailboxId, log);
      expect(echoed.error).toMatchObject({ code: 'imap.oauth_refresh_failed' });
      expect(echoed.error?.detail).toContain(
        'invalid_client (AADSTS7000215: bad secret [redacted] for [redacted]',
      );
      expect(echoed.error?.detail).not.toContain(refreshToken);
      expect(echoed.error?.detail).not.toContain(provider.client.clientSecret);

      provider.override = () => ({ status: 503, body: '{"error":"temporarily_unavailable"}' });
      const overloaded = await p.poll(tenantId, mailboxId, log);
      expect(overloaded.error).toMatchObject({ code: 'imap.oauth_unreachable' });
      expect(overloaded.error?.detail).toContain('HTTP 503 temporarily_unavailable');

      provider.override = () => ({ status: 200, body: '{"token_type":"Bearer"}' });
      expect((await p.poll(tenantId, mailboxId, log)).error).toMatchObject({
        code: 'imap.oauth_refresh_failed',
        detail: expect.stringContaining('without an access_token'),
      });
      provider.override = () => ({ status: 200, body: '{"access_token":"abc","token_type":"mac"}' });
      expect((await p.poll(tenantId, mailboxId, log)).error).toMatchObject({
        code: 'imap.oauth_refresh_failed',
        detail: expect.stringContaining('token_type mac is not Bearer'),
      });
    } finally {
      provider.override = undefined;
    }

    // Nothing listens there: unreachable, retried like any outage.
    await service().update(tenantId, view.id, {
      tokenUrl: `https://${TOKEN_HOST}:${await closedPort(TOKEN_IP)}/token`,
    });
    const down = await p.poll(tenantId, mailboxId, log);
    expect(down.error).toMatchObject({ code: 'imap.oauth_unreachable' });
    expect(down.error?.detail).toContain('connection_refused');
    expect((await service().get(tenantId, view.id)).status).toBe('retrying');
    await expectNoSecrets(tenantId);
  });

  it('should refuse a token endpoint the SSRF guard does not allow, when saved and when polled', async () => {
    // Saved: https only, no credentials, and a host that resolves to public (or allowed) addresses.
    const tenant = await createTestTenant(db);
    const base = {
      host: '127.0.0.1',
      port: dovecot.imapsPort,
      security: 'tls' as const,
      username: 'nobody',
      auth: 'oauth2' as const,
      clientId: 'c',
      refreshToken: 'r',
    };
    await expect(
      service().create(tenant.id, { ...base, tokenUrl: 'https://private.oauth.test/token' }),
    ).rejects.toMatchObject({
      code: 'mailbox_host_refused',
      errors: [{ location: 'body.tokenUrl' }],
    });
    for (const bad of ['http://login.oauth.test/token', 'https://u:p@login.oauth.test/token', 'not a url'])
      await expect(service().create(tenant.id, { ...base, tokenUrl: bad })).rejects.toMatchObject({
        code: 'validation_failed',
        errors: [{ location: 'body.tokenUrl' }],
      });

    // Polled: the mailbox was saved under a wider allow-list than the worker has now. The IMAP host
    // (127.0.0.1) is allowed, the token endpoint (127.0.0.71) is not, and it is never dialled.
    const { tenantId, mailboxId } = await setup();
    const connections = provider.connections();
    const refused = await poller({ allow: allowOf('127.0.0.1/32') }).poll(tenantId, mailboxId, log);
    expect(refused.error).toMatchObject({ code: 'imap.oauth_endpoint_refused' });
    expect(refused.error?.detail).toContain('ssrf_refused');
    expect(provider.connections()).toBe(connections);
    // Control: allowed, the same poll reaches it.
    expect(await poller().poll(tenantId, mailboxId, log)).toMatchObject({ state: 'polled' });
    expect(provider.connections()).toBe(connections + 1);
  });

  it('should cache a token until shortly before it expires, and not at all without expires_in', async () => {
    const { tenantId, refreshToken, mailboxId } = await setup();
    let offsetMs = 0;
    const clock: Clock = { now: () => new Date(Date.now() + offsetMs) };
    const p = poller({ clock });
    provider.expiresIn = 400;
    try {
      // 400 s of life, used for 200 s (half of it, as that is less than the 5 minutes margin).
      await p.poll(tenantId, mailboxId, log);
      offsetMs = 190_000;
      await p.poll(tenantId, mailboxId, log);
      expect(requestsFor(refreshToken)).toHaveLength(1);
      offsetMs = 205_000;
      expect(await p.poll(tenantId, mailboxId, log)).toMatchObject({ state: 'polled' });
      expect(requestsFor(refreshToken)).toHaveLength(2);

      // Past that token's end, a provider that gives no lifetime: every poll refreshes.
      offsetMs = 700_000;
      provider.expiresIn = undefined;
      await p.poll(tenantId, mailboxId, log);
      await p.poll(tenantId, mailboxId, log);
      expect(requestsFor(refreshToken)).toHaveLength(4);
    } finally {
      provider.expiresIn = 3600;
    }
  });

  it('should say so when the server offers no OAuth login, and when the secrets do not open', async () => {
    const passwordOnly = await startDovecot({ ca });
    try {
      const { tenantId, mailboxId } = await setup({ port: passwordOnly.imapsPort }, passwordOnly);
      const result = await poller().poll(tenantId, mailboxId, log);
      expect(result.error).toMatchObject({
        code: 'imap.auth_failed',
        detail: expect.stringContaining('offers no OAuth login'),
      });
    } finally {
      await passwordOnly.close();
    }
    const { tenantId, mailboxId } = await setup();
    const before = provider.tokenRequests.length;
    const result = await poller({ box: createSecretBox(Buffer.alloc(32, 12)) }).poll(
      tenantId,
      mailboxId,
      log,
    );
    expect(result.error).toMatchObject({ code: 'imap.secret_unreadable' });
    expect(provider.tokenRequests.length).toBe(before);
  });

  it("should keep each login kind complete and drop the other kind's secrets when switching", async () => {
    const { tenantId, user, mailboxId, view } = await setup();
    // The check constraint: an oauth2 row has no password and always a refresh token.
    await expect(
      withTenant(db, tenantId, (tx) =>
        tx
          .update(schema.reportMailboxes)
          .set({ passwordCiphertext: box.seal('pw', 'x') })
          .where(eq(schema.reportMailboxes.id, mailboxId)),
      ),
    ).rejects.toMatchObject({ cause: { constraint: 'report_mailboxes_auth' } });
    await expect(
      withTenant(db, tenantId, (tx) =>
        tx
          .update(schema.reportMailboxes)
          .set({ oauthRefreshTokenCiphertext: null })
          .where(eq(schema.reportMailboxes.id, mailboxId)),
      ),
    ).rejects.toMatchObject({ cause: { constraint: 'report_mailboxes_auth' } });

    // Each kind takes only its own fields, and a switch needs all of the new kind's.
    await expect(service().update(tenantId, view.id, { password: 'pw' })).rejects.toMatchObject({
      errors: [{ location: 'body.password' }],
    });
    await expect(service().update(tenantId, view.id, { auth: 'password' })).rejects.toMatchObject({
      errors: [{ location: 'body.password' }],
    });
    const toPassword = await service().update(tenantId, view.id, { auth: 'password', password: 'pw-1' });
    expect(toPassword).toMatchObject({
      auth: 'password',
      hasPassword: true,
      tokenUrl: null,
      clientId: null,
      scope: null,
      hasClientSecret: false,
      hasRefreshToken: false,
    });
    expect(await mailbox(tenantId)).toMatchObject({
      oauthClientSecretCiphertext: null,
      oauthRefreshTokenCiphertext: null,
    });
    await expect(service().update(tenantId, view.id, { scope: 'x' })).rejects.toMatchObject({
      errors: [{ location: 'body.scope' }],
    });
    await expect(
      service().update(tenantId, view.id, { auth: 'oauth2', tokenUrl: tokenUrl() }),
    ).rejects.toMatchObject({ errors: [{ location: 'body.clientId' }] });
    const back = await service().update(tenantId, view.id, {
      auth: 'oauth2',
      tokenUrl: tokenUrl(),
      clientId: provider.client.clientId,
      refreshToken: provider.grant(user),
    });
    expect(back).toMatchObject({
      auth: 'oauth2',
      hasPassword: false,
      hasClientSecret: false,
      hasRefreshToken: true,
    });
    expect((await mailbox(tenantId)).passwordCiphertext).toBeNull();
    // Without its secret the confidential client is refused; with it (set alone) the poll works.
    expect((await poller().poll(tenantId, mailboxId, log)).error?.detail).toContain('invalid_client');
    await service().update(tenantId, view.id, { clientSecret: provider.client.clientSecret! });
    expect(await poller().poll(tenantId, mailboxId, log)).toMatchObject({ state: 'polled' });
    await expectNoSecrets(tenantId);
  });
});

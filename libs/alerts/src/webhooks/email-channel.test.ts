/**
 * The e-mail alert channel end to end: endpoints in Postgres, the SMTP relay mailer, and a real
 * SMTP server (smtp-server) on 127.0.0.x that keeps what it receives. One alert per event, and the
 * daily digest of a digest endpoint.
 */
import type { AddressInfo } from 'node:net';
import { createSecretBox, systemClock, uuidv7 } from '@mailwarden/core';
import { type Database, schema, withTenant } from '@mailwarden/db';
import { createDnsClient, type DnsClient } from '@mailwarden/net';
import { createTestTenant, openTestDatabase } from '@mailwarden/testing/db';
import { startDnsServer, type TestDnsServer } from '@mailwarden/testing/dns-server';
import { createTestCa, issueCert } from '@mailwarden/testing/tls';
import type pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSmtpAlertMailer } from '../email/smtp-mailer.ts';
import { createWebhooksService } from './webhooks.service.ts';

const RELAY_HOST = '127.0.0.64';
let pool: pg.Pool;
let db: Database;
let dns: TestDnsServer;
let client: DnsClient;
let relay: SMTPServer;
let relayPort: number;
const inbox: { to: string[]; raw: string }[] = [];

beforeAll(async () => {
  ({ pool, db } = openTestDatabase());
  dns = await startDnsServer({ host: '127.0.0.1' });
  client = createDnsClient({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 300 });
  relay = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        inbox.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => relay.listen(0, RELAY_HOST, resolve));
  relayPort = (relay.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => relay?.close(() => resolve()));
  client?.close();
  await dns?.close();
  await pool?.end();
});

function service() {
  const mailer = createSmtpAlertMailer({
    url: `smtp://${RELAY_HOST}:${relayPort}`,
    from: 'Mailwarden <alerts@mailwarden.test>',
    allowPlaintext: true,
  });
  return createWebhooksService({
    db,
    clock: systemClock,
    box: createSecretBox(Buffer.alloc(32, 3)),
    runtime: { resolver: client, allow: [], mailer },
  });
}

async function openedEvent(tenantId: string, code: string) {
  const id = uuidv7();
  const domainId = uuidv7();
  await withTenant(db, tenantId, async (tx) => {
    await tx
      .insert(schema.domains)
      .values({ id: domainId, tenantId, name: `${code.replace(/\W/g, '')}.test`, verificationToken: 'x' });
    await tx.insert(schema.monitoringEvents).values({
      id,
      tenantId,
      domainId,
      type: 'finding.opened',
      severity: 'high',
      payload: {
        domain: { id: domainId, name: 'mail.test' },
        finding: {
          id: uuidv7(),
          code,
          severity: 'high',
          subject: 'mail.test',
          message: 'No DMARC record at _dmarc.mail.test <script>',
          evidence: {},
          firstSeenAt: new Date().toISOString(),
          lastSeenAt: new Date().toISOString(),
          resolvedAt: null,
        },
      },
      occurredAt: new Date(),
    });
  });
  return id;
}

describe('e-mail alerts', () => {
  it('should mail one alert per event through the relay, escaped', async () => {
    const tenant = await createTestTenant(db);
    const webhooks = service();
    const { endpoint, secret } = await webhooks.create(tenant.id, {
      format: 'email',
      target: 'oncall@customer.test',
    });
    expect(secret).toBeNull();
    expect(endpoint.target).toBe('oncall@customer.test');
    const eventId = await openedEvent(tenant.id, 'dmarc.missing');
    const [deliveryId] = await webhooks.dispatchEvent(tenant.id, eventId);
    const before = inbox.length;
    const result = await webhooks.attemptDelivery(tenant.id, deliveryId!);
    expect(result.state).toBe('succeeded');
    const mail = inbox[before]!;
    expect(mail.to).toEqual(['oncall@customer.test']);
    expect(mail.raw).toMatch(/Subject: .*dmarc/i);
    expect(mail.raw).toContain('Auto-Submitted: auto-generated');
    // Plain text carries the message as it is; the HTML part escapes it.
    const html = mail.raw.slice(mail.raw.indexOf('Content-Type: text/html'));
    expect(html).toContain('&lt;script&gt;');
    expect(html).not.toContain('<script>');
  });

  it('should send the day’s events as one digest and nothing on a quiet day', async () => {
    const tenant = await createTestTenant(db);
    const webhooks = service();
    const { endpoint } = await webhooks.create(tenant.id, {
      format: 'email',
      target: 'digest@customer.test',
      dailyDigest: true,
    });
    const endpointId = (
      await withTenant(db, tenant.id, (tx) => tx.select().from(schema.webhookEndpoints))
    )[0]!.id;
    expect(endpoint.dailyDigest).toBe(true);
    const before = inbox.length;
    expect(await webhooks.sendDigest(tenant.id, endpointId)).toBe(0);
    expect(inbox.length).toBe(before);

    const first = await openedEvent(tenant.id, 'dmarc.missing');
    await openedEvent(tenant.id, 'spf.too_many_lookups');
    // A digest endpoint gets no delivery per event.
    expect(await webhooks.dispatchEvent(tenant.id, first)).toEqual([]);
    expect(await webhooks.sendDigest(tenant.id, endpointId)).toBe(2);
    const digest = inbox[before]!;
    expect(digest.to).toEqual(['digest@customer.test']);
    expect(digest.raw).toMatch(/digest/i);
  });

  it('should require STARTTLS on smtp:// and verify the relay certificate', async () => {
    const ca = await createTestCa();
    const cert = await issueCert(ca, { names: ['127.0.0.65'] });
    const received: string[] = [];
    const tlsRelay = new SMTPServer({
      authOptional: true,
      disableReverseLookup: true,
      logger: false,
      key: cert.keyPem,
      cert: cert.chainPem,
      onData(stream, _session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          received.push(Buffer.concat(chunks).toString('utf8'));
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => tlsRelay.listen(0, '127.0.0.65', resolve));
    const port = (tlsRelay.server.address() as AddressInfo).port;
    const message = { to: 'a@customer.test', subject: 'Reset', text: 'token', kind: 'password_reset' };
    try {
      const trusting = createSmtpAlertMailer({
        url: `smtp://127.0.0.65:${port}`,
        from: 'x@mailwarden.test',
        ca: [ca.certPem],
      });
      await trusting.send(message);
      expect(received).toHaveLength(1);
      // Without the CA the relay's certificate is not trusted: nothing is sent in clear instead.
      const strict = createSmtpAlertMailer({
        url: `smtp://127.0.0.65:${port}`,
        from: 'x@mailwarden.test',
        timeoutMs: 3_000,
      });
      await expect(strict.send(message)).rejects.toThrow();
      expect(received).toHaveLength(1);
    } finally {
      await new Promise<void>((resolve) => tlsRelay.close(() => resolve()));
    }
    // A relay that offers no STARTTLS is refused (requireTLS), not used in clear.
    const clear = createSmtpAlertMailer({
      url: `smtp://${RELAY_HOST}:${relayPort}`,
      from: 'x@mailwarden.test',
      timeoutMs: 3_000,
    });
    const before = inbox.length;
    await expect(clear.send(message)).rejects.toThrow();
    expect(inbox.length).toBe(before);
  });

  it('should refuse an e-mail endpoint without a relay, and a target that is not an address', async () => {
    const tenant = await createTestTenant(db);
    const withoutRelay = createWebhooksService({
      db,
      clock: systemClock,
      box: createSecretBox(Buffer.alloc(32, 3)),
      runtime: { resolver: client, allow: [] },
    });
    await expect(
      withoutRelay.create(tenant.id, { format: 'email', target: 'a@b.test' }),
    ).rejects.toMatchObject({
      code: 'validation_failed',
    });
    await expect(
      service().create(tenant.id, { format: 'email', target: 'not an address' }),
    ).rejects.toMatchObject({
      code: 'validation_failed',
    });
  });
});

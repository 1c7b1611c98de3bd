/**
 * What the IMAP intake refuses and how it is bounded, against the real Dovecot, DNS server and
 * Postgres of mailbox-intake.test-helper.ts plus hostile servers of its own on loopback: untrusted
 * or misnamed certificates, hosts outside the allowed ranges (the SSRF guard decides what may be
 * dialled, and saved), a server without STARTTLS never sees the password, silent servers end at
 * the connect timeout and the poll deadline, and the password is stored sealed. Nothing is mocked.
 */
import net from 'node:net';
import { systemClock } from '@mailwarden/core';
import { schema, withTenant } from '@mailwarden/db';
import { createTestTenant } from '@mailwarden/testing/db';
import { startCanary } from '@mailwarden/testing/https-server';
import { createTestCa } from '@mailwarden/testing/tls';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import {
  box,
  db,
  dns,
  dovecot,
  freePort,
  gzReport,
  log,
  mailbox,
  poller,
  rawReports,
  resolver,
  setup,
} from './mailbox-intake.test-helper.ts';
import { createReportMailboxesService } from './report-mailboxes.service.ts';

describe('IMAP report intake guards', () => {
  it('should refuse a certificate it does not trust, over implicit TLS and STARTTLS', async () => {
    const untrusting = poller({ ca: [(await createTestCa({ fresh: true })).certPem] });
    for (const [security, port] of [
      ['tls', dovecot.imapsPort],
      ['starttls', dovecot.imapPort],
    ] as const) {
      const { tenantId, user, mailboxId } = await setup({ host: 'imap.test', security, port });
      dovecot.deliver(user.name, await gzReport());
      const result = await untrusting.poll(tenantId, mailboxId, log);
      expect(result, security).toMatchObject({ state: 'failed', error: { code: 'imap.tls_failed' } });
      expect(await rawReports(tenantId)).toHaveLength(0);
      expect(dovecot.count(user.name)).toBe(1);
    }
  });

  it('should refuse a certificate for another name', async () => {
    // The certificate names imap.test, localhost and 127.0.0.1; this name resolves to it too.
    dns.setRecords('other.test', 'A', ['127.0.0.1']);
    const { tenantId, mailboxId } = await setup({ host: 'other.test' });
    const result = await poller().poll(tenantId, mailboxId, log);
    expect(result.error?.code).toBe('imap.tls_failed');
    expect(result.error?.detail).toMatch(/ALTNAME|altname|not in the cert/i);
  });

  it('should never dial a host outside the allowed ranges', async () => {
    const canary = await startCanary({ host: '127.0.0.77' });
    try {
      const { tenantId, mailboxId } = await setup({ host: '127.0.0.77', port: canary.port });
      // The same mailbox polled by a worker that allows no private range: refused before any connect.
      const strict = poller({ allow: [] });
      const result = await strict.poll(tenantId, mailboxId, log);
      expect(result).toMatchObject({ state: 'failed', error: { code: 'imap.host_refused' } });
      expect(canary.seen).toEqual([]);

      // A name resolving to a private address is refused too, without dialling anything.
      const named = await setup({ host: 'imap.test' });
      await withTenant(db, named.tenantId, (tx) =>
        tx
          .update(schema.reportMailboxes)
          .set({ host: 'private.test' })
          .where(eq(schema.reportMailboxes.id, named.mailboxId)),
      );
      const viaDns = await poller().poll(named.tenantId, named.mailboxId, log);
      expect(viaDns).toMatchObject({ state: 'failed', error: { code: 'imap.host_refused' } });
      expect(viaDns.error?.detail).toContain('10.0.0.25');
    } finally {
      await canary.close();
    }
  });

  it('should refuse to save a private or loopback host unless the range is allowed', async () => {
    const tenant = await createTestTenant(db);
    const strict = createReportMailboxesService({
      db,
      clock: systemClock,
      box,
      vet: { resolver, allow: [] },
    });
    for (const host of ['127.0.0.1', 'private.test', '169.254.169.254', '[::1]', 'no-such-name.test']) {
      await expect(
        strict.create(tenant.id, { host, security: 'tls', username: 'u', password: 'p' }),
        host,
      ).rejects.toMatchObject({ code: 'mailbox_host_refused' });
    }
    expect(await strict.list(tenant.id)).toEqual([]);
  });

  it('should name a missing folder, a refused connection and a server without STARTTLS', async () => {
    const missing = await setup({ folder: 'Reports/Nowhere' });
    expect((await poller().poll(missing.tenantId, missing.mailboxId, log)).error?.code).toBe(
      'imap.folder_missing',
    );

    const closedPort = await freePort();
    const refused = await setup({ port: closedPort });
    expect((await poller().poll(refused.tenantId, refused.mailboxId, log)).error?.code).toBe(
      'imap.connect_refused',
    );

    // A server that greets in cleartext and offers no STARTTLS never receives the password.
    const seen: string[] = [];
    const server = net.createServer((socket) => {
      socket.write('* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] no tls here\r\n');
      socket.on('data', (chunk) => {
        for (const line of chunk.toString().split('\r\n').filter(Boolean)) {
          seen.push(line);
          const tag = line.split(' ')[0];
          if (/ CAPABILITY$/i.test(line))
            socket.write(`* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n${tag} OK done\r\n`);
          else socket.write(`${tag} BAD no\r\n`);
        }
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const plain = await setup({ security: 'starttls', port });
      const result = await poller().poll(plain.tenantId, plain.mailboxId, log);
      expect(result.error?.code).toBe('imap.starttls_unavailable');
      expect(seen.join('\n')).not.toMatch(/LOGIN|AUTHENTICATE|secret-/i);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('should bound a server that never answers by the connect timeout and the poll deadline', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const { tenantId, mailboxId } = await setup({ port });
      const started = Date.now();
      const timedOut = await poller({ connectTimeoutMs: 300 }).poll(tenantId, mailboxId, log);
      expect(timedOut.error?.code).toBe('imap.timeout');
      const cut = await poller({ connectTimeoutMs: 5_000, pollDeadlineMs: 300 }).poll(
        tenantId,
        mailboxId,
        log,
      );
      expect(cut.error?.code).toBe('imap.deadline_exceeded');
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(await mailbox(tenantId)).toMatchObject({ consecutiveFailures: 2, leaseUntil: null });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('should keep the password sealed and bound to its mailbox', async () => {
    const { tenantId, user } = await setup();
    const row = await mailbox(tenantId);
    expect(row.passwordCiphertext).not.toContain(user.password);
    expect(box.open(row.passwordCiphertext!, `report-mailbox:${row.id}`).toString()).toBe(user.password);
    expect(() => box.open(row.passwordCiphertext!, 'report-mailbox:another')).toThrow();
  });
});

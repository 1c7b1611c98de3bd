/**
 * A report mailbox's failures become stable codes on it with a growing backoff, and a failing
 * spell raises `report_mailbox.failing` once and `report_mailbox.recovered` at its end, each
 * committed with the mailbox row. Against the real Dovecot and Postgres of
 * mailbox-intake.test-helper.ts; nothing is mocked.
 */
import { schema, withTenant } from '@mailwarden/db';
import { eq } from 'drizzle-orm';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { db, dovecot, events, freePort, log, mailbox, poller, setup } from './mailbox-intake.test-helper.ts';

describe('IMAP report intake alerts', () => {
  it('should record a wrong password as imap.auth_failed with a growing backoff, then failing', async () => {
    const { tenantId, mailboxId, service, view } = await setup();
    await service.update(tenantId, view.id, { password: 'not-the-password' });
    const p = poller();
    // Every log line at every level, to prove the password is never in one.
    const lines: string[] = [];
    const verbose = pino({ level: 'trace' }, { write: (line: string) => lines.push(line) });
    for (let i = 1; i <= 5; i++) {
      const result = await p.poll(tenantId, mailboxId, verbose);
      expect(result).toMatchObject({ state: 'failed', error: { code: 'imap.auth_failed' } });
      const row = await mailbox(tenantId);
      expect(row.consecutiveFailures).toBe(i);
      expect(row.nextPollAt.getTime() - row.lastPolledAt!.getTime()).toBe(300_000 * 2 ** (i - 1));
    }
    const shown = await service.get(tenantId, view.id);
    expect(shown).toMatchObject({ status: 'failing', lastError: { code: 'imap.auth_failed' } });
    expect(JSON.stringify(shown)).not.toContain('not-the-password');
    expect(lines.some((l) => l.includes('imap.auth_failed'))).toBe(true);
    expect(lines.some((l) => l.includes('report mailbox failing'))).toBe(true);
    expect(lines.join('\n')).not.toContain('not-the-password');
  });

  it('should raise report_mailbox.failing once at the 5th failure in a row and .recovered after the fix', async () => {
    const { tenantId, user, mailboxId, service, view } = await setup({ folder: 'INBOX' });
    await service.update(tenantId, view.id, { password: 'not-the-password' });
    const p = poller();
    const mailboxRef = {
      id: mailboxId,
      host: '127.0.0.1',
      port: dovecot.imapsPort,
      username: user.name,
      folder: 'INBOX',
    };
    for (let i = 1; i <= 4; i++) {
      const result = await p.poll(tenantId, mailboxId, log);
      expect(result).toMatchObject({ state: 'failed', eventIds: [] });
    }
    expect(await events(tenantId)).toEqual([]);

    // The 5th: one event, committed with the mailbox row (the same occurred/polled time).
    const fifth = await p.poll(tenantId, mailboxId, log);
    expect(fifth.eventIds).toHaveLength(1);
    const [failing, ...none] = await events(tenantId);
    expect(none).toEqual([]);
    expect(failing).toMatchObject({
      id: fifth.eventIds[0],
      tenantId,
      domainId: null,
      type: 'report_mailbox.failing',
      severity: 'high',
      suppressed: null,
      dispatchedAt: null,
      payload: {
        mailbox: mailboxRef,
        lastError: { code: 'imap.auth_failed', detail: expect.any(String) },
        consecutiveFailures: 5,
        lastSuccessAt: null,
      },
    });
    expect(JSON.stringify(failing!.payload)).not.toMatch(/not-the-password|secret-|passwordCiphertext/);
    const row = await mailbox(tenantId);
    expect(row.failingReportedAt).toEqual(failing!.occurredAt);
    expect(row.lastPolledAt).toEqual(failing!.occurredAt);

    // The 6th failure raises nothing more.
    const sixth = await p.poll(tenantId, mailboxId, log);
    expect(sixth).toMatchObject({ state: 'failed', eventIds: [] });
    expect(await mailbox(tenantId)).toMatchObject({ consecutiveFailures: 6 });

    // Another wrong password clears the streak; five more failures are the same failing spell.
    await service.update(tenantId, view.id, { password: 'still-not-the-password' });
    for (let i = 1; i <= 5; i++)
      expect(await p.poll(tenantId, mailboxId, log)).toMatchObject({ state: 'failed', eventIds: [] });
    expect(await events(tenantId)).toHaveLength(1);

    // The fix clears the streak too (a settings change), and the first success closes the alert.
    await service.update(tenantId, view.id, { password: user.password });
    expect(await mailbox(tenantId)).toMatchObject({ consecutiveFailures: 0 });
    const fixed = await p.poll(tenantId, mailboxId, log);
    expect(fixed).toMatchObject({ state: 'polled', stored: 0 });
    expect(fixed.eventIds).toHaveLength(1);
    const all = await events(tenantId);
    expect(all.map((e) => e.type)).toEqual(['report_mailbox.failing', 'report_mailbox.recovered']);
    expect(all[1]).toMatchObject({
      id: fixed.eventIds[0],
      domainId: null,
      severity: 'info',
      suppressed: null,
      payload: {
        mailbox: mailboxRef,
        lastError: { code: 'imap.auth_failed' },
        consecutiveFailures: 0,
        failingSince: failing!.occurredAt.toISOString(),
      },
    });
    expect(await mailbox(tenantId)).toMatchObject({ failingReportedAt: null, lastErrorCode: null });

    // Healthy polls after it raise nothing; a new spell would alert again.
    expect(await p.poll(tenantId, mailboxId, log)).toMatchObject({ state: 'polled', eventIds: [] });
    expect(await events(tenantId)).toHaveLength(2);
  });

  it('should raise report_mailbox.recovered when the server comes back without a settings change', async () => {
    // The server is down for 5 polls (a closed port), then answers again. The port is put back
    // with SQL, not through the service, so the streak is not cleared: the outage ends by itself.
    const closedPort = await freePort();
    const { tenantId, mailboxId } = await setup({ port: closedPort });
    const p = poller();
    for (let i = 1; i <= 5; i++) await p.poll(tenantId, mailboxId, log);
    expect((await events(tenantId)).map((e) => [e.type, e.payload.consecutiveFailures])).toEqual([
      ['report_mailbox.failing', 5],
    ]);
    await withTenant(db, tenantId, (tx) =>
      tx
        .update(schema.reportMailboxes)
        .set({ port: dovecot.imapsPort })
        .where(eq(schema.reportMailboxes.id, mailboxId)),
    );
    const back = await p.poll(tenantId, mailboxId, log);
    expect(back).toMatchObject({ state: 'polled' });
    const recovered = (await events(tenantId)).at(-1);
    expect(recovered).toMatchObject({
      type: 'report_mailbox.recovered',
      payload: { consecutiveFailures: 5, lastError: { code: 'imap.connect_refused' } },
    });
  });
});

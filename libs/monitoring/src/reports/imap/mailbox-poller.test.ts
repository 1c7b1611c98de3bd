/**
 * The IMAP report intake against a real Dovecot on loopback (mailbox-intake.test-helper.ts has
 * the servers): messages are committed before they are moved or flagged, a crash in between loses
 * and doubles nothing, one poll at a time holds a mailbox, and the per-poll and size limits leave
 * the rest for later. Nothing is mocked; the one injected fault is an enqueue that throws.
 * Alerts are in mailbox-alerts.test.ts, TLS, the SSRF guard and the bounds in mailbox-guards.test.ts.
 */
import { parseReportJobId } from '@mailwarden/queue';
import { buildReportMail } from '@mailwarden/testing/dovecot';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../raw-reports.ts';
import {
  dns,
  dovecot,
  events,
  flagsIn,
  gzReport,
  log,
  mailbox,
  parseQueue,
  poller,
  rawReports,
  setup,
  zipReport,
} from './mailbox-intake.test-helper.ts';
import { storedKeyword } from './mailbox-poller.ts';

describe('IMAP report intake', () => {
  it('should store each message, enqueue its parse and only then move it, over implicit TLS', async () => {
    const { tenantId, user, mailboxId } = await setup();
    const first = await gzReport();
    const second = await zipReport();
    dovecot.deliver(user.name, first);
    dovecot.deliver(user.name, second);

    const result = await poller().poll(tenantId, mailboxId, log);
    expect(result, JSON.stringify(result.error)).toMatchObject({
      state: 'polled',
      stored: 2,
      duplicates: 0,
      skippedTooLarge: 0,
      more: false,
    });

    const raw = await rawReports(tenantId);
    expect(raw.map((r) => r.receivedVia)).toEqual(['imap', 'imap']);
    expect(raw.map((r) => r.sha256).sort()).toEqual([sha256Hex(first), sha256Hex(second)].sort());
    expect(raw.map((r) => r.parseState)).toEqual(['pending', 'pending']);
    for (const r of raw) {
      const job = await parseQueue.getJob(parseReportJobId(r.id));
      expect(job?.data).toEqual({ tenantId, rawReportId: r.id });
    }
    expect(dovecot.count(user.name)).toBe(0);
    expect(dovecot.count(user.name, 'Mailwarden/Processed')).toBe(2);

    const row = await mailbox(tenantId);
    expect(row).toMatchObject({
      lastErrorCode: null,
      consecutiveFailures: 0,
      lastStoredCount: 2,
      leaseUntil: null,
    });
    expect(row.lastSuccessAt).not.toBeNull();
    expect(row.nextPollAt.getTime() - row.lastPolledAt!.getTime()).toBe(300_000);

    // A second poll finds nothing new and stores nothing.
    const again = await poller().poll(tenantId, mailboxId, log);
    expect(again).toMatchObject({ state: 'polled', stored: 0 });
    expect(await rawReports(tenantId)).toHaveLength(2);
  });

  it('should resolve the host through DNS, use STARTTLS, and flag instead of moving', async () => {
    const { tenantId, user, mailboxId } = await setup({
      host: 'imap.test',
      port: dovecot.imapPort,
      security: 'starttls',
      afterStore: 'flag',
    });
    dovecot.deliver(user.name, await gzReport());
    dns.clearLog();

    const result = await poller().poll(tenantId, mailboxId, log);
    expect(result).toMatchObject({ state: 'polled', stored: 1 });
    expect(dns.queriesFor('imap.test', 'A')).toHaveLength(1);
    // Still in INBOX, seen and marked stored; no Processed folder was made.
    expect(await flagsIn(user, 'INBOX')).toEqual([[storedKeyword, '\\Seen'].sort()]);
    expect(dovecot.count(user.name, 'Mailwarden/Processed')).toBe(0);

    // The keyword keeps it out of the next poll; a new message is taken.
    dovecot.deliver(user.name, await zipReport());
    expect(await poller().poll(tenantId, mailboxId, log)).toMatchObject({ stored: 1 });
    expect(await poller().poll(tenantId, mailboxId, log)).toMatchObject({ stored: 0 });
    expect(await rawReports(tenantId)).toHaveLength(2);
  });

  it('should leave a message whose parse could not be enqueued and store it once when polled again', async () => {
    const { tenantId, user, mailboxId } = await setup();
    const bytes = await gzReport();
    dovecot.deliver(user.name, bytes);

    // A crash between commit and acknowledgement: the enqueue throws, the move never happens.
    const broken = poller({
      enqueueParse: async () => {
        throw new Error('redis is gone');
      },
    });
    const failed = await broken.poll(tenantId, mailboxId, log);
    expect(failed).toMatchObject({ state: 'failed', stored: 0, error: { code: 'imap.queue_unavailable' } });
    const [raw] = await rawReports(tenantId);
    expect(raw?.sha256).toBe(sha256Hex(bytes));
    expect(dovecot.count(user.name)).toBe(1);
    expect(await mailbox(tenantId)).toMatchObject({
      lastErrorCode: 'imap.queue_unavailable',
      consecutiveFailures: 1,
    });

    const retried = await poller().poll(tenantId, mailboxId, log);
    expect(retried).toMatchObject({ state: 'polled', stored: 1, duplicates: 1 });
    const after = await rawReports(tenantId);
    expect(after.map((r) => r.id)).toEqual([raw!.id]);
    expect(await parseQueue.getJob(parseReportJobId(raw!.id))).toBeTruthy();
    expect(dovecot.count(user.name)).toBe(0);
    expect(dovecot.count(user.name, 'Mailwarden/Processed')).toBe(1);
    expect(await mailbox(tenantId)).toMatchObject({ lastErrorCode: null, consecutiveFailures: 0 });
    // One failure is no alert, and the success after it recovers nothing.
    expect(failed.eventIds).toEqual([]);
    expect(retried.eventIds).toEqual([]);
    expect(await events(tenantId)).toEqual([]);
  });

  it('should leave a message over the size limit where it is and take the others', async () => {
    const { tenantId, user, mailboxId } = await setup();
    const small = await gzReport();
    const big = await buildReportMail({
      attachment: Buffer.from('<feedback/>'),
      filename: 'big.xml',
      padding: 200_000,
    });
    dovecot.deliver(user.name, big);
    dovecot.deliver(user.name, small);
    const result = await poller({ maxMessageBytes: 100_000 }).poll(tenantId, mailboxId, log);
    expect(result).toMatchObject({ state: 'polled', stored: 1, skippedTooLarge: 1 });
    const raw = await rawReports(tenantId);
    expect(raw.map((r) => r.sha256)).toEqual([sha256Hex(small)]);
    expect(dovecot.count(user.name)).toBe(1);
    expect(await mailbox(tenantId)).toMatchObject({ lastSkippedCount: 1, lastErrorCode: null });
  });

  it('should take at most the per-poll number of messages and come back at once for the rest', async () => {
    const { tenantId, user, mailboxId } = await setup();
    for (let i = 0; i < 3; i++) dovecot.deliver(user.name, await gzReport());
    const limited = poller({ maxMessagesPerPoll: 2 });
    const first = await limited.poll(tenantId, mailboxId, log);
    expect(first).toMatchObject({ stored: 2, more: true });
    const row = await mailbox(tenantId);
    expect(row.nextPollAt.getTime()).toBe(row.lastPolledAt!.getTime());
    expect(await limited.poll(tenantId, mailboxId, log)).toMatchObject({ stored: 1, more: false });
    expect(await rawReports(tenantId)).toHaveLength(3);
  });

  it('should let one poll at a time hold a mailbox and skip disabled ones', async () => {
    const { tenantId, user, mailboxId, service, view } = await setup();
    dovecot.deliver(user.name, await gzReport());
    const p = poller();
    const [a, b] = await Promise.all([p.poll(tenantId, mailboxId, log), p.poll(tenantId, mailboxId, log)]);
    expect([a.state, b.state].sort()).toEqual(['polled', 'skipped']);
    expect(a.stored + b.stored).toBe(1);
    await service.update(tenantId, view.id, { enabled: false });
    expect(await p.poll(tenantId, mailboxId, log)).toMatchObject({ state: 'skipped' });
  });
});

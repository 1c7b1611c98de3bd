/**
 * Polls one tenant's IMAP mailbox for report mail (issue 6 §1c; docs/reports.md "IMAP intake").
 * This file puts one poll together; each step is its own module:
 *
 * - mailbox-lease.ts: one poll at a time holds a mailbox (claim, and release after a throw);
 * - mailbox-login.ts: the password, or an `oauth2` access token, opened from the sealed secrets;
 * - mailbox-session.ts: the IMAP conversation through the SSRF guard, which commits each message
 *   as a raw report and enqueues its parse BEFORE moving or flagging it, so a crash loses and
 *   doubles nothing;
 * - mailbox-record.ts: the outcome, its `report_mailbox.failing` / `.recovered` alert and a
 *   rotated refresh token, in the one transaction that also releases the lease.
 *
 * A cached access token the server refuses is dropped and the poll refreshes once and tries
 * again; a fresh one refused is the tenant's to fix.
 *
 * A poll never throws for what the server or the network did: the failure is recorded on the
 * mailbox as a stable `imap.*` code with a backoff. Only a database failure is thrown, so the job
 * is retried.
 */
import type { Clock, Logger, Resolver, SecretBox } from '@mailwarden/core';
import type { Database } from '@mailwarden/db';
import type { AllowList } from '@mailwarden/net';
import type { MailboxError } from './imap-errors.ts';
import { createMailboxLease } from './mailbox-lease.ts';
import { createMailboxLogins, failedBeforeLogin } from './mailbox-login.ts';
import { createMailboxRecorder } from './mailbox-record.ts';
import { createMailboxSession, type SessionOutcome } from './mailbox-session.ts';
import { createOAuthTokenSource, defaultTokenMaxBytes, defaultTokenTimeoutMs } from './oauth-token.ts';
import { failingAfterConsecutiveFailures } from './report-mailboxes.service.ts';

export { maxPollBackoffSeconds, pollBackoffSeconds } from './mailbox-record.ts';
export { storedKeyword } from './mailbox-session.ts';

export const defaultMaxMessagesPerPoll = 200;
export const defaultPollDeadlineMs = 120_000;
export const defaultConnectTimeoutMs = 15_000;
export const defaultSocketTimeoutMs = 60_000;

export interface MailboxPollerOptions {
  db: Database;
  clock: Clock;
  box: SecretBox;
  resolver: Pick<Resolver, 'query'>;
  allow: AllowList;
  /** Extra trusted CA certificates (PEM, TLS_EXTRA_CA_FILE), added to Node's bundled roots. */
  ca?: readonly string[];
  /** Enqueues the parse of a committed raw report; a throw leaves the message for the next poll. */
  enqueueParse(tenantId: string, rawReportId: string): Promise<void>;
  /** REPORT_IMAP_POLL_SECONDS: the time between two successful polls. */
  pollIntervalSeconds: number;
  /** Messages larger than this are left in the mailbox and counted as skipped. */
  maxMessageBytes: number;
  maxMessagesPerPoll?: number;
  pollDeadlineMs?: number;
  connectTimeoutMs?: number;
  socketTimeoutMs?: number;
  /** `oauth2`: the whole token request (DNS, connect, TLS, answer). */
  tokenTimeoutMs?: number;
  /** `oauth2`: the largest token response read. */
  tokenMaxBytes?: number;
}

export interface MailboxPollResult {
  /** `skipped`: disabled, deleted, or another poll holds it. */
  state: 'polled' | 'failed' | 'skipped';
  /** Messages committed (new or already known) and then moved or flagged. */
  stored: number;
  /** Of those, bytes the tenant already had (the same raw report). */
  duplicates: number;
  /** Messages left in the mailbox for being larger than the limit. */
  skippedTooLarge: number;
  /** More messages wait than one poll takes: the next poll is due at once. */
  more: boolean;
  error?: MailboxError;
  /**
   * Outbox events this poll committed (`report_mailbox.failing` or `.recovered`, uuids): the caller
   * enqueues their dispatch now that the transaction is committed.
   */
  eventIds: string[];
}

export function createMailboxPoller(options: MailboxPollerOptions) {
  const { db, clock } = options;
  const deadlineMs = options.pollDeadlineMs ?? defaultPollDeadlineMs;
  const connectTimeoutMs = options.connectTimeoutMs ?? defaultConnectTimeoutMs;
  const tokenTimeoutMs = options.tokenTimeoutMs ?? defaultTokenTimeoutMs;
  const ca = options.ca ?? [];
  const lease = createMailboxLease({
    db,
    clock,
    // The lease outlives the poll's own deadline (and, for `oauth2`, a refused cached token, a
    // second refresh and a second connect), so only a dead worker's lease ever expires.
    leaseMs: deadlineMs + 2 * connectTimeoutMs + 2 * tokenTimeoutMs + 60_000,
  });
  const recorder = createMailboxRecorder({ db, clock, pollIntervalSeconds: options.pollIntervalSeconds });
  const session = createMailboxSession({
    db,
    clock,
    resolver: options.resolver,
    allow: options.allow,
    ca,
    enqueueParse: (tenantId, rawReportId) => options.enqueueParse(tenantId, rawReportId),
    maxMessageBytes: options.maxMessageBytes,
    maxMessages: options.maxMessagesPerPoll ?? defaultMaxMessagesPerPoll,
    deadlineMs,
    connectTimeoutMs,
    socketTimeoutMs: options.socketTimeoutMs ?? defaultSocketTimeoutMs,
  });
  const tokens = createOAuthTokenSource({
    clock,
    resolver: options.resolver,
    allow: options.allow,
    ca,
    timeoutMs: tokenTimeoutMs,
    maxBytes: options.tokenMaxBytes ?? defaultTokenMaxBytes,
  });
  const logins = createMailboxLogins({ box: options.box, tokens });

  return {
    /**
     * One poll of one mailbox with the tenant's context. Returns what happened; throws only when
     * the database fails (the job is retried; the lease is released when possible).
     */
    async poll(tenantId: string, mailboxId: string, log: Logger): Promise<MailboxPollResult> {
      const row = await lease.claim(tenantId, mailboxId);
      if (!row)
        return { state: 'skipped', stored: 0, duplicates: 0, skippedTooLarge: 0, more: false, eventIds: [] };
      const mailboxLog = log.child({ tenantId, mailboxId, host: row.host, port: row.port });
      let outcome: SessionOutcome;
      let rotatedCiphertext: string | undefined;
      try {
        if (row.auth === 'oauth2') {
          let login = await logins.oauth(row, false, mailboxLog);
          rotatedCiphertext = login.rotatedCiphertext;
          outcome = login.ok
            ? await session.run(row, login.login, mailboxLog)
            : failedBeforeLogin(login.error);
          if (outcome.error?.code === 'imap.auth_failed') {
            // Revoked or expired early: a cached token is not used again. One that came from
            // the cache gets one fresh try; a fresh one refused is the tenant's to fix.
            tokens.forget(row.id);
            if (login.ok && login.cached) {
              login = await logins.oauth(row, true, mailboxLog);
              rotatedCiphertext = login.rotatedCiphertext;
              outcome = login.ok
                ? await session.run(row, login.login, mailboxLog)
                : failedBeforeLogin(login.error);
              if (outcome.error?.code === 'imap.auth_failed') tokens.forget(row.id);
            }
          }
        } else {
          const login = logins.password(row);
          outcome = login.ok
            ? await session.run(row, login.login, mailboxLog)
            : failedBeforeLogin(login.error);
        }
      } catch (err) {
        await lease.release(row, rotatedCiphertext).catch(() => {});
        throw err;
      }
      const { failures, eventIds } = await recorder.record(row, outcome, rotatedCiphertext);
      const summary = {
        stored: outcome.stored,
        duplicates: outcome.duplicates,
        skippedTooLarge: outcome.skippedTooLarge,
        more: outcome.more,
      };
      if (outcome.error) {
        const fields = { ...summary, code: outcome.error.code, detail: outcome.error.detail, failures };
        if (eventIds.length > 0 || failures === failingAfterConsecutiveFailures)
          mailboxLog.error(fields, 'report mailbox failing');
        else mailboxLog.warn(fields, 'report mailbox poll failed');
        return { state: 'failed', ...summary, error: outcome.error, eventIds };
      }
      if (eventIds.length > 0) mailboxLog.info(summary, 'report mailbox recovered');
      else mailboxLog.info(summary, 'report mailbox polled');
      return { state: 'polled', ...summary, eventIds };
    },
  };
}

export type MailboxPoller = ReturnType<typeof createMailboxPoller>;

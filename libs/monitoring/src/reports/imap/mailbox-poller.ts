/**
 * Polls one tenant's IMAP mailbox for report mail (issue 6 §1c; docs/reports.md "IMAP intake").
 *
 * For every message, in UID order: download it, commit its bytes as a raw report (`imap`), enqueue
 * its parse, and ONLY THEN move it (or flag it \Seen + `$MailwardenStored`). A crash anywhere before
 * the move leaves the message where it was; the next poll stores the same bytes again, which the
 * unique (tenant, sha256) key turns into the same raw report, and moves it. Nothing is lost and
 * nothing is stored twice.
 *
 * The connection goes through the SSRF guard: the host is resolved once and vetted (public unicast,
 * or a PROBE_ALLOW_CIDRS range), imapflow dials the vetted IP literal, and TLS (implicit or
 * STARTTLS, never plaintext) verifies the certificate against the host name. Everything is bounded:
 * connect, greeting and socket timeouts, messages per poll, message size (checked with
 * RFC822.SIZE before downloading, and by the literal limit while downloading), and the whole poll.
 *
 * `oauth2` mailboxes log in with SASL OAUTHBEARER (RFC 7628) or XOAUTH2 and an access token from
 * the tenant's token endpoint (oauth-token.ts): cached per mailbox in this process until shortly
 * before it expires, else got with the refresh-token grant (RFC 6749 §6) through the SSRF guard.
 * A refresh token the provider rotates is stored, sealed, in the transaction that records the poll
 * (or, when the poll throws, in the one that releases the lease), and only over the refresh token
 * the poll started with, so a new one the tenant set meanwhile wins. A cached token the server
 * refuses is dropped and the poll refreshes once and tries again.
 *
 * A poll never throws for what the server or the network did: the failure is recorded on the
 * mailbox as a stable `imap.*` code with a backoff. Only a database failure is thrown, so the job
 * is retried.
 *
 * Alerts: the failed poll that makes the streak reach `failingAfterConsecutiveFailures` writes
 * `report_mailbox.failing` to the outbox, and the first successful poll after it writes
 * `report_mailbox.recovered`, each in the transaction that records the poll on the mailbox. The
 * caller enqueues their dispatch after commit (the outbox sweeper catches a lost enqueue).
 */
import tls from 'node:tls';
import { type Clock, type Logger, type Resolver, type SecretBox, uuidv7 } from '@mailwarden/core';
import { type Database, type EventType, type ReportMailboxRow, schema, withTenant } from '@mailwarden/db';
import { type AllowList, resolveAndVet, type VettedAddress } from '@mailwarden/net';
import { and, eq, isNull, lte, or, sql } from 'drizzle-orm';
import { ImapFlow } from 'imapflow';
import { storeRawReport } from '../raw-reports.ts';
import {
  classifyImapError,
  type MailboxError,
  mailboxError,
  type PollPhase,
  vetRefusalError,
} from './imap-errors.ts';
import { createOAuthTokenSource, defaultTokenMaxBytes, defaultTokenTimeoutMs } from './oauth-token.ts';
import {
  failingAfterConsecutiveFailures,
  mailboxClientSecretContext,
  mailboxPasswordContext,
  mailboxRefreshTokenContext,
} from './report-mailboxes.service.ts';

/** The keyword a stored message gets in `flag` mode; messages with it are not fetched again. */
export const storedKeyword = '$MailwardenStored';
export const defaultMaxMessagesPerPoll = 200;
export const defaultPollDeadlineMs = 120_000;
export const defaultConnectTimeoutMs = 15_000;
export const defaultSocketTimeoutMs = 60_000;
/** Backoff after failures never waits longer than this. */
export const maxPollBackoffSeconds = 6 * 3_600;
/** Addresses of one host tried when the earlier ones refuse or time out. */
const MAX_ADDRESSES_TRIED = 3;
/** A SEARCH answer of ~100 000 UIDs fits; a server that never ends a line does not. */
const MAX_LINE_BYTES = 16 * 1024 * 1024;

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

/** What imapflow logs in with: LOGIN/SASL PLAIN, or OAUTHBEARER/XOAUTH2. */
type Login = { user: string; pass: string } | { user: string; accessToken: string };

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

/** The wait before the next poll after `failures` failures in a row. */
export function pollBackoffSeconds(intervalSeconds: number, failures: number): number {
  return Math.min(maxPollBackoffSeconds, intervalSeconds * 2 ** Math.min(Math.max(failures - 1, 0), 10));
}

interface SessionOutcome {
  stored: number;
  duplicates: number;
  skippedTooLarge: number;
  more: boolean;
  error?: MailboxError;
}

export function createMailboxPoller(options: MailboxPollerOptions) {
  const { db, clock, box } = options;
  const { reportMailboxes } = schema;
  const maxMessages = options.maxMessagesPerPoll ?? defaultMaxMessagesPerPoll;
  const deadlineMs = options.pollDeadlineMs ?? defaultPollDeadlineMs;
  const connectTimeoutMs = options.connectTimeoutMs ?? defaultConnectTimeoutMs;
  const socketTimeoutMs = options.socketTimeoutMs ?? defaultSocketTimeoutMs;
  const tokenTimeoutMs = options.tokenTimeoutMs ?? defaultTokenTimeoutMs;
  // The lease outlives the poll's own deadline (and, for `oauth2`, a refused cached token, a
  // second refresh and a second connect), so only a dead worker's lease ever expires.
  const leaseMs = deadlineMs + 2 * connectTimeoutMs + 2 * tokenTimeoutMs + 60_000;
  const ca = options.ca ?? [];
  // Building a context from ~150 roots is costly; one per poller serves every mailbox.
  const secureContext =
    ca.length > 0 ? tls.createSecureContext({ ca: [...tls.rootCertificates, ...ca] }) : undefined;
  const tokens = createOAuthTokenSource({
    clock,
    resolver: options.resolver,
    allow: options.allow,
    ca,
    timeoutMs: tokenTimeoutMs,
    maxBytes: options.tokenMaxBytes ?? defaultTokenMaxBytes,
  });

  /** Takes the mailbox for one poll, or undefined when disabled, deleted or held by another poll. */
  async function claim(tenantId: string, mailboxId: string): Promise<ReportMailboxRow | undefined> {
    const now = clock.now();
    const [row] = await withTenant(db, tenantId, (tx) =>
      tx
        .update(reportMailboxes)
        .set({ leaseUntil: new Date(now.getTime() + leaseMs) })
        .where(
          and(
            eq(reportMailboxes.id, mailboxId),
            eq(reportMailboxes.enabled, true),
            or(isNull(reportMailboxes.leaseUntil), lte(reportMailboxes.leaseUntil, now)),
          ),
        )
        .returning(),
    );
    return row;
  }

  /**
   * The alert a poll's outcome raises, if any. `failing` once per failing spell: when the streak
   * reaches the threshold and none is open (`failing_reported_at`, so the 6th failure adds
   * nothing, and neither does a streak restarted by a settings change while still failing).
   * `recovered` on the first success while one is open, even when a settings change (the usual
   * fix) cleared the streak in between.
   */
  function alertFor(
    row: ReportMailboxRow,
    outcome: SessionOutcome,
    failures: number,
  ): { type: EventType; severity: 'high' | 'info'; payload: Record<string, unknown> } | undefined {
    // The connection settings as the tenant entered them; never the password.
    const mailbox = {
      id: row.id,
      host: row.host,
      port: row.port,
      username: row.username,
      folder: row.folder,
    };
    if (outcome.error) {
      if (failures < failingAfterConsecutiveFailures || row.failingReportedAt) return undefined;
      return {
        type: 'report_mailbox.failing',
        severity: 'high',
        payload: {
          mailbox,
          lastError: { code: outcome.error.code, detail: outcome.error.detail },
          consecutiveFailures: failures,
          lastSuccessAt: row.lastSuccessAt?.toISOString() ?? null,
        },
      };
    }
    if (!row.failingReportedAt) return undefined;
    return {
      type: 'report_mailbox.recovered',
      severity: 'info',
      payload: {
        mailbox,
        lastError: row.lastErrorCode ? { code: row.lastErrorCode, detail: row.lastErrorDetail } : null,
        consecutiveFailures: row.consecutiveFailures,
        failingSince: row.failingReportedAt.toISOString(),
      },
    };
  }

  /**
   * A rotated refresh token (sealed) replaces the one the poll started with, and only that one:
   * a refresh token the tenant set in the meantime stays.
   */
  function rotation(row: ReportMailboxRow, rotatedCiphertext: string | undefined) {
    if (!rotatedCiphertext || !row.oauthRefreshTokenCiphertext) return {};
    const column = reportMailboxes.oauthRefreshTokenCiphertext;
    return {
      oauthRefreshTokenCiphertext: sql`case when ${column} = ${row.oauthRefreshTokenCiphertext} then ${rotatedCiphertext} else ${column} end`,
    };
  }

  /**
   * The poll's outcome on the mailbox, its alert and a rotated refresh token in the same
   * transaction (the outbox rule).
   */
  async function record(
    row: ReportMailboxRow,
    outcome: SessionOutcome,
    rotatedCiphertext: string | undefined,
  ): Promise<{ failures: number; eventIds: string[] }> {
    const now = clock.now();
    const failures = outcome.error ? row.consecutiveFailures + 1 : 0;
    const waitSeconds = outcome.error
      ? pollBackoffSeconds(options.pollIntervalSeconds, failures)
      : outcome.more
        ? 0
        : options.pollIntervalSeconds;
    const alert = alertFor(row, outcome, failures);
    const eventIds: string[] = [];
    await withTenant(db, row.tenantId, async (tx) => {
      await tx
        .update(reportMailboxes)
        .set({
          leaseUntil: null,
          lastPolledAt: now,
          nextPollAt: new Date(now.getTime() + waitSeconds * 1_000),
          consecutiveFailures: failures,
          lastStoredCount: outcome.stored,
          lastSkippedCount: outcome.skippedTooLarge,
          ...(outcome.error
            ? { lastErrorCode: outcome.error.code, lastErrorDetail: outcome.error.detail }
            : { lastSuccessAt: now, lastErrorCode: null, lastErrorDetail: null }),
          ...(alert ? { failingReportedAt: outcome.error ? now : null } : {}),
          ...rotation(row, rotatedCiphertext),
        })
        .where(eq(reportMailboxes.id, row.id));
      if (!alert) return;
      // A tenant-level event like `endpoint.disabled`: no domain, and no domain's maintenance
      // window or threshold applies; it reaches the endpoints subscribed to its type.
      const id = uuidv7(now.getTime());
      await tx.insert(schema.monitoringEvents).values({
        id,
        tenantId: row.tenantId,
        domainId: null,
        type: alert.type,
        severity: alert.severity,
        payload: alert.payload,
        occurredAt: now,
      });
      eventIds.push(id);
    });
    return { failures, eventIds };
  }

  function newClient(
    row: ReportMailboxRow,
    host: string,
    isIpLiteral: boolean,
    address: VettedAddress,
    login: Login,
  ) {
    return new ImapFlow({
      // The vetted IP literal: imapflow resolves nothing, so DNS cannot change the target.
      host: address.address,
      port: row.port,
      secure: row.security === 'tls',
      // Never plaintext: STARTTLS is required, and a server that does not offer it is an error.
      ...(row.security === 'starttls' ? { doSTARTTLS: true } : {}),
      // SNI and the certificate check use the name the tenant gave (RFC 6125), not the address.
      ...(isIpLiteral ? {} : { servername: host }),
      // A token goes out as OAUTHBEARER when offered, else XOAUTH2 (imapflow's choice).
      auth: login,
      tls: {
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2',
        ...(secureContext ? { secureContext } : {}),
      },
      logger: false,
      disableAutoIdle: true,
      // Sizes are checked on what the server sends; no decompression in between.
      disableCompression: true,
      clientInfo: { name: 'Mailwarden' },
      connectionTimeout: connectTimeoutMs,
      greetingTimeout: connectTimeoutMs,
      socketTimeout: socketTimeoutMs,
      maxLineLength: MAX_LINE_BYTES,
      // A server that announces a small size and then sends more is cut off here.
      maxLiteralSize: options.maxMessageBytes + 64 * 1024,
      maxResponseSize: options.maxMessageBytes + MAX_LINE_BYTES + 64 * 1024,
    });
  }

  /** Resolves, vets and connects, trying the next address when one refuses or times out. */
  async function connect(
    row: ReportMailboxRow,
    login: Login,
    track: (client: ImapFlow) => void,
    deadline: number,
  ): Promise<{ ok: true; client: ImapFlow } | { ok: false; error: MailboxError }> {
    const vet = await resolveAndVet(row.host, { resolver: options.resolver, allow: options.allow });
    if (!vet.ok) return { ok: false, error: vetRefusalError(vet) };
    let last: MailboxError | undefined;
    for (const address of vet.addresses.slice(0, MAX_ADDRESSES_TRIED)) {
      if (Date.now() >= deadline) break;
      const client = newClient(row, vet.host, vet.isIpLiteral, address, login);
      // Errors after connect are also rejected from the pending command; this keeps the emitter quiet.
      client.on('error', () => {});
      track(client);
      try {
        await client.connect();
        return { ok: true, client };
      } catch (err) {
        client.close();
        last = classifyImapError(err, 'connect');
        const next = ['imap.connect_refused', 'imap.unreachable', 'imap.timeout'].includes(last.code);
        if (!next) return { ok: false, error: last };
      }
    }
    return { ok: false, error: last ?? mailboxError('imap.unreachable', `${row.host}: no address to dial`) };
  }

  async function session(row: ReportMailboxRow, login: Login, log: Logger): Promise<SessionOutcome> {
    const outcome: SessionOutcome = { stored: 0, duplicates: 0, skippedTooLarge: 0, more: false };
    const deadlineError = () =>
      mailboxError('imap.deadline_exceeded', `the poll did not finish within ${deadlineMs} ms`);
    const deadline = Date.now() + deadlineMs;
    let current: ImapFlow | undefined;
    let timedOut = false;
    // The whole-poll deadline: closing the connection ends whatever command is waiting.
    const timer = setTimeout(() => {
      timedOut = true;
      current?.close();
    }, deadlineMs);
    let phase: PollPhase = 'connect';
    try {
      const connected = await connect(
        row,
        login,
        (client) => {
          current = client;
        },
        deadline,
      );
      if (!connected.ok) return { ...outcome, error: timedOut ? deadlineError() : connected.error };
      const client = connected.client;

      phase = 'open';
      const opened = await client.mailboxOpen(row.folder.split('/'));
      const flag = row.afterStore === 'flag';
      if (
        flag &&
        opened.permanentFlags &&
        !opened.permanentFlags.has('\\*') &&
        !opened.permanentFlags.has(storedKeyword)
      )
        return {
          ...outcome,
          error: mailboxError(
            'imap.keywords_unsupported',
            `${row.folder} keeps no custom keywords (PERMANENTFLAGS)`,
          ),
        };

      phase = 'fetch';
      // Oversized messages are never candidates; they are counted, logged and left where they are.
      const notStored = flag ? { unKeyword: storedKeyword } : {};
      const candidates = await client.search(
        { ...notStored, smaller: options.maxMessageBytes + 1 },
        { uid: true },
      );
      const oversized = await client.search({ ...notStored, larger: options.maxMessageBytes }, { uid: true });
      if (candidates === false || oversized === false)
        return { ...outcome, error: mailboxError('imap.protocol_error', 'SEARCH failed') };
      outcome.skippedTooLarge = oversized?.length ?? 0;
      if (outcome.skippedTooLarge > 0)
        log.warn(
          {
            uids: oversized!.slice(0, 20),
            count: outcome.skippedTooLarge,
            maxBytes: options.maxMessageBytes,
          },
          'report mail larger than the limit left in the mailbox',
        );
      const uids = [...(candidates ?? [])].sort((a, b) => a - b);
      outcome.more = uids.length > maxMessages;
      const batch = uids.slice(0, maxMessages);
      if (batch.length === 0) return outcome;

      let moveTo = row.moveTo;
      if (!flag) {
        phase = 'prepare';
        moveTo = (await client.mailboxCreate(row.moveTo.split('/'))).path;
        phase = 'fetch';
      }
      // RFC822.SIZE first: a message grown past the limit since SEARCH is not downloaded.
      const sizes = new Map<number, number>();
      for (const m of await client.fetchAll(batch.join(','), { uid: true, size: true }, { uid: true }))
        sizes.set(m.uid, m.size ?? 0);

      for (const uid of batch) {
        if (Date.now() >= deadline) {
          outcome.more = true;
          if (outcome.stored === 0)
            outcome.error = mailboxError(
              'imap.deadline_exceeded',
              `no message stored within ${deadlineMs} ms`,
            );
          return outcome;
        }
        const size = sizes.get(uid);
        if (size === undefined) continue; // expunged since SEARCH
        if (size > options.maxMessageBytes) {
          outcome.skippedTooLarge += 1;
          log.warn(
            { uid, size, maxBytes: options.maxMessageBytes },
            'report mail larger than the limit left in the mailbox',
          );
          continue;
        }
        phase = 'fetch';
        const message = await client.fetchOne(String(uid), { uid: true, source: true }, { uid: true });
        const source = message ? message.source : undefined;
        if (!source || source.length === 0) continue;
        if (source.length > options.maxMessageBytes) {
          outcome.skippedTooLarge += 1;
          continue;
        }
        let stored: Awaited<ReturnType<typeof storeRawReport>>;
        try {
          stored = await storeRawReport({ db, clock }, row.tenantId, 'imap', source);
        } catch (err) {
          throw new StoreFailure(err);
        }
        if (stored.state === 'pending') {
          try {
            await options.enqueueParse(row.tenantId, stored.id);
          } catch (err) {
            // Committed, but not acknowledged: the next poll stores the same raw report and enqueues again.
            log.warn(
              { err, rawReportId: stored.id },
              'report parse not enqueued; the message stays for the next poll',
            );
            outcome.error = mailboxError('imap.queue_unavailable', 'the parse job could not be enqueued');
            return outcome;
          }
        }
        phase = 'ack';
        const acked = flag
          ? await client.messageFlagsAdd(String(uid), ['\\Seen', storedKeyword], { uid: true })
          : await client.messageMove(String(uid), moveTo, { uid: true });
        if (!acked) {
          outcome.error = mailboxError(
            'imap.ack_failed',
            flag ? `could not flag message ${uid}` : `could not move message ${uid} to ${row.moveTo}`,
          );
          return outcome;
        }
        outcome.stored += 1;
        if (stored.duplicate) outcome.duplicates += 1;
      }
      await client.logout().catch(() => {});
      return outcome;
    } catch (err) {
      // The database failed: thrown, so BullMQ retries; the message was not acknowledged.
      if (err instanceof StoreFailure) throw err.cause;
      const error = timedOut ? deadlineError() : classifyImapError(err, phase);
      // Work done before a late deadline still counts: the next poll is due at once for the rest.
      if (timedOut && outcome.stored > 0) return { ...outcome, more: true };
      return { ...outcome, error };
    } finally {
      clearTimeout(timer);
      current?.close();
    }
  }

  function openSecret(sealed: string | null, context: string): string | undefined {
    if (!sealed) return undefined;
    try {
      return box.open(sealed, context).toString('utf8');
    } catch {
      return undefined;
    }
  }

  function failedBeforeLogin(error: MailboxError): SessionOutcome {
    return { stored: 0, duplicates: 0, skippedTooLarge: 0, more: false, error };
  }

  /**
   * The access token of an `oauth2` mailbox: from the cache, or refreshed (`refresh` skips the
   * cache). A rotated refresh token comes back sealed, for the caller to store.
   */
  async function oauthLogin(
    row: ReportMailboxRow,
    refresh: boolean,
    log: Logger,
  ): Promise<
    | { ok: true; login: Login; cached: boolean; rotatedCiphertext?: string }
    | { ok: false; error: MailboxError; rotatedCiphertext?: undefined }
  > {
    const refreshToken = openSecret(row.oauthRefreshTokenCiphertext, mailboxRefreshTokenContext(row.id));
    const clientSecret = row.oauthClientSecretCiphertext
      ? openSecret(row.oauthClientSecretCiphertext, mailboxClientSecretContext(row.id))
      : '';
    if (!refreshToken || clientSecret === undefined || !row.oauthTokenUrl || !row.oauthClientId)
      return {
        ok: false,
        error: mailboxError(
          'imap.secret_unreadable',
          'the OAuth refresh token or client secret does not open with the current keys; set them again',
        ),
      };
    // Any change to the mailbox's settings (a new refresh token among them) bumps updated_at.
    const version = [
      row.updatedAt.getTime(),
      row.oauthTokenUrl,
      row.oauthClientId,
      row.oauthScope ?? '',
      row.username,
    ].join('\n');
    const got = await tokens.accessToken(
      row.id,
      version,
      {
        tokenUrl: row.oauthTokenUrl,
        clientId: row.oauthClientId,
        ...(row.oauthClientSecretCiphertext ? { clientSecret } : {}),
        refreshToken,
        ...(row.oauthScope ? { scope: row.oauthScope } : {}),
      },
      refresh,
    );
    if (!got.ok) return got;
    if (!got.cached)
      log.debug({ rotated: got.rotatedRefreshToken !== undefined }, 'report mailbox access token refreshed');
    return {
      ok: true,
      login: { user: row.username, accessToken: got.accessToken },
      cached: got.cached,
      ...(got.rotatedRefreshToken
        ? { rotatedCiphertext: box.seal(got.rotatedRefreshToken, mailboxRefreshTokenContext(row.id)) }
        : {}),
    };
  }

  return {
    /**
     * One poll of one mailbox with the tenant's context. Returns what happened; throws only when
     * the database fails (the job is retried; the lease is released when possible).
     */
    async poll(tenantId: string, mailboxId: string, log: Logger): Promise<MailboxPollResult> {
      const row = await claim(tenantId, mailboxId);
      if (!row)
        return { state: 'skipped', stored: 0, duplicates: 0, skippedTooLarge: 0, more: false, eventIds: [] };
      const mailboxLog = log.child({ tenantId, mailboxId, host: row.host, port: row.port });
      let outcome: SessionOutcome;
      let rotatedCiphertext: string | undefined;
      try {
        if (row.auth === 'oauth2') {
          let login = await oauthLogin(row, false, mailboxLog);
          rotatedCiphertext = login.rotatedCiphertext;
          outcome = login.ok ? await session(row, login.login, mailboxLog) : failedBeforeLogin(login.error);
          if (outcome.error?.code === 'imap.auth_failed') {
            // Revoked or expired early: a cached token is not used again. One that came from
            // the cache gets one fresh try; a fresh one refused is the tenant's to fix.
            tokens.forget(row.id);
            if (login.ok && login.cached) {
              login = await oauthLogin(row, true, mailboxLog);
              rotatedCiphertext = login.rotatedCiphertext;
              outcome = login.ok
                ? await session(row, login.login, mailboxLog)
                : failedBeforeLogin(login.error);
              if (outcome.error?.code === 'imap.auth_failed') tokens.forget(row.id);
            }
          }
        } else {
          const password = openSecret(row.passwordCiphertext, mailboxPasswordContext(row.id));
          outcome = password
            ? await session(row, { user: row.username, pass: password }, mailboxLog)
            : failedBeforeLogin(
                mailboxError(
                  'imap.secret_unreadable',
                  'the password does not open with the current keys; set it again',
                ),
              );
        }
      } catch (err) {
        await withTenant(db, tenantId, (tx) =>
          tx
            .update(reportMailboxes)
            .set({ leaseUntil: null, ...rotation(row, rotatedCiphertext) })
            .where(eq(reportMailboxes.id, mailboxId)),
        ).catch(() => {});
        throw err;
      }
      const { failures, eventIds } = await record(row, outcome, rotatedCiphertext);
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

/** A failure to commit a message: not the server's fault, so the job is retried instead. */
class StoreFailure extends Error {
  constructor(cause: unknown) {
    super('storing a report failed', { cause });
    this.name = 'StoreFailure';
  }
}

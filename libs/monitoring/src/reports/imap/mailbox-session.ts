/**
 * The IMAP conversation of one poll, once the mailbox is claimed and its login is known: connect,
 * open the folder, search, fetch, store each message as a raw report, then move or flag it. Kept
 * apart from the lease, the login and the recording (mailbox-poller.ts puts them together) because
 * this is the part that talks to the tenant's server, so the connection's guards and bounds live here.
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
 * What the server or the network did comes back as an outcome with a stable `imap.*` code; only a
 * database failure is thrown.
 */
import tls from 'node:tls';
import type { Clock, Logger, Resolver } from '@mailwarden/core';
import type { Database, ReportMailboxRow } from '@mailwarden/db';
import { type AllowList, resolveAndVet, type VettedAddress } from '@mailwarden/net';
import { ImapFlow } from 'imapflow';
import { storeRawReport } from '../raw-reports.ts';
import {
  classifyImapError,
  type MailboxError,
  mailboxError,
  type PollPhase,
  vetRefusalError,
} from './imap-errors.ts';

/** The keyword a stored message gets in `flag` mode; messages with it are not fetched again. */
export const storedKeyword = '$MailwardenStored';
/** Addresses of one host tried when the earlier ones refuse or time out. */
const MAX_ADDRESSES_TRIED = 3;
/** A SEARCH answer of ~100 000 UIDs fits; a server that never ends a line does not. */
const MAX_LINE_BYTES = 16 * 1024 * 1024;

/** What imapflow logs in with: LOGIN/SASL PLAIN, or OAUTHBEARER/XOAUTH2. */
export type Login = { user: string; pass: string } | { user: string; accessToken: string };

/** What one session did; `error` when it ended on something the server or the network did. */
export interface SessionOutcome {
  stored: number;
  duplicates: number;
  skippedTooLarge: number;
  more: boolean;
  error?: MailboxError;
}

export interface MailboxSessionOptions {
  db: Database;
  clock: Clock;
  resolver: Pick<Resolver, 'query'>;
  allow: AllowList;
  /** Extra trusted CA certificates (PEM), added to Node's bundled roots. */
  ca: readonly string[];
  /** Enqueues the parse of a committed raw report; a throw leaves the message for the next poll. */
  enqueueParse(tenantId: string, rawReportId: string): Promise<void>;
  maxMessageBytes: number;
  maxMessages: number;
  deadlineMs: number;
  connectTimeoutMs: number;
  socketTimeoutMs: number;
}

export function createMailboxSession(options: MailboxSessionOptions) {
  const { db, clock, deadlineMs, maxMessages } = options;
  // Building a context from ~150 roots is costly; one per poller serves every mailbox.
  const secureContext =
    options.ca.length > 0
      ? tls.createSecureContext({ ca: [...tls.rootCertificates, ...options.ca] })
      : undefined;

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
      connectionTimeout: options.connectTimeoutMs,
      greetingTimeout: options.connectTimeoutMs,
      socketTimeout: options.socketTimeoutMs,
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

  return {
    /**
     * One session on the claimed mailbox, logged in with `login`, within the poll deadline.
     * Throws only when the database fails (the message was not acknowledged).
     */
    async run(row: ReportMailboxRow, login: Login, log: Logger): Promise<SessionOutcome> {
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
        const oversized = await client.search(
          { ...notStored, larger: options.maxMessageBytes },
          { uid: true },
        );
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
    },
  };
}

/** A failure to commit a message: not the server's fault, so the job is retried instead. */
class StoreFailure extends Error {
  constructor(cause: unknown) {
    super('storing a report failed', { cause });
    this.name = 'StoreFailure';
  }
}

/**
 * The SMTP receiver of report mail (issue 6 §1a, DESIGN.md §2.7). Receivers mail DMARC aggregate
 * (rua) and TLS-RPT reports to `<tenant-token>@<INBOUND_DOMAIN>`:
 *
 * - an unknown recipient is refused at RCPT TO (550 5.1.1), so nothing is accepted for nobody;
 * - the size is announced in EHLO (RFC 1870 SIZE) and enforced on the data (552 5.3.4);
 * - STARTTLS (RFC 3207) with the configured certificate; without one, STARTTLS is not offered;
 * - connections per client IP are capped (421 4.7.0), and so are recipients per message;
 * - the raw bytes are committed to Postgres for every tenant addressed BEFORE the 250, so an
 *   accepted report is never lost; a database failure answers 451 and the sender retries later;
 * - the parse job is enqueued after the commit; a lost enqueue is found by the worker's sweep.
 *
 * No AUTH, no relaying: it only ever accepts mail for its own domain.
 */
import type { AddressInfo } from 'node:net';
import type { Clock, Logger } from '@mailwarden/core';
import type { Database } from '@mailwarden/db';
import { storeRawReport, tenantForReportAddress } from '@mailwarden/monitoring';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';

export interface ReportReceiverOptions {
  db: Database;
  clock: Clock;
  logger: Logger;
  /** The report address domain (lower case, no trailing dot). */
  domain: string;
  /** Largest message accepted, in bytes (SIZE). */
  maxMessageBytes: number;
  maxConnectionsPerIp: number;
  maxConnections: number;
  /** PEM certificate chain and key for STARTTLS; without them STARTTLS is not offered. */
  tls?: { certPem: string; keyPem: string };
  /** Enqueue the parse of a committed raw report; failures are logged, not answered. */
  enqueueParse(tenantId: string, rawReportId: string): Promise<void>;
  /** Idle and whole-session time limits. */
  socketTimeoutMs?: number;
}

/** Distinct tenants one message may be addressed to (a report has one rua address per tenant). */
export const maxRecipientsPerMessage = 20;

function smtpError(code: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode: code });
}

export function createReportReceiver(options: ReportReceiverOptions) {
  const { logger: log } = options;
  const perIp = new Map<string, number>();
  /** session id -> tenant ids of the accepted recipients. */
  const recipients = new Map<string, Set<string>>();

  const serverOptions: SMTPServerOptions = {
    name: options.domain,
    banner: 'Mailwarden report receiver',
    size: options.maxMessageBytes,
    authOptional: true,
    disabledCommands: options.tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    ...(options.tls ? { key: options.tls.keyPem, cert: options.tls.certPem } : {}),
    logger: false,
    maxClients: options.maxConnections,
    socketTimeout: options.socketTimeoutMs ?? 60_000,
    closeTimeout: 10_000,
    // Reports are data, not messages to a person: no VRFY/EXPN, no 8BITMIME surprises in storage.
    hidePIPELINING: false,

    onConnect(session, callback) {
      const ip = session.remoteAddress;
      const open = (perIp.get(ip) ?? 0) + 1;
      if (open > options.maxConnectionsPerIp) {
        log.warn({ ip, open: open - 1 }, 'inbound connection refused: too many from this address');
        callback(smtpError(421, '4.7.0 Too many connections from your address, try again later'));
        return;
      }
      perIp.set(ip, open);
      // smtp-server calls onClose for every connection that onConnect accepted.
      (session as SMTPServerSession & { counted?: boolean }).counted = true;
      callback();
    },

    onClose(session) {
      recipients.delete(session.id);
      if (!(session as SMTPServerSession & { counted?: boolean }).counted) return;
      const ip = session.remoteAddress;
      const open = (perIp.get(ip) ?? 1) - 1;
      if (open <= 0) perIp.delete(ip);
      else perIp.set(ip, open);
    },

    onMailFrom(_address, session, callback) {
      // A new transaction on the same connection starts with no recipients (RFC 5321 §4.1.1.2).
      recipients.delete(session.id);
      callback();
    },

    onRcptTo(address, session, callback) {
      const at = address.address.lastIndexOf('@');
      const local = address.address.slice(0, at);
      const domain = address.address
        .slice(at + 1)
        .toLowerCase()
        .replace(/\.$/, '');
      if (at < 1 || domain !== options.domain) {
        callback(smtpError(550, '5.7.1 Relaying denied: this server only accepts report addresses'));
        return;
      }
      const tenants = recipients.get(session.id) ?? new Set<string>();
      if (tenants.size >= maxRecipientsPerMessage) {
        callback(smtpError(452, '4.5.3 Too many recipients'));
        return;
      }
      tenantForReportAddress(options.db, local).then(
        (tenantId) => {
          if (!tenantId) {
            callback(smtpError(550, '5.1.1 No such report address'));
            return;
          }
          tenants.add(tenantId);
          recipients.set(session.id, tenants);
          callback();
        },
        (err: unknown) => {
          log.error({ err }, 'report address lookup failed');
          callback(smtpError(451, '4.3.0 Temporary failure, try again later'));
        },
      );
    },

    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        // Past the limit the rest is drained and dropped; smtp-server sets sizeExceeded too.
        if (size <= options.maxMessageBytes) chunks.push(chunk);
      });
      stream.on('error', (err: Error) => callback(err));
      stream.on('end', () => {
        if (stream.sizeExceeded || size > options.maxMessageBytes) {
          callback(smtpError(552, `5.3.4 Message too big: the limit is ${options.maxMessageBytes} bytes`));
          return;
        }
        const tenants = [...(recipients.get(session.id) ?? [])];
        const bytes = Buffer.concat(chunks, size);
        storeAll(tenants, bytes, session).then(
          (stored) => {
            // Committed for every recipient: now the sender may forget it.
            callback(null, `2.0.0 Stored as ${stored.map((s) => s.id).join(',')}`);
            for (const s of stored) {
              if (s.duplicate && s.state !== 'pending') continue;
              options.enqueueParse(s.tenantId, s.id).catch((err: unknown) => {
                log.warn({ err, rawReportId: s.id }, 'report parse not enqueued; the sweep will');
              });
            }
          },
          (err: unknown) => {
            log.error({ err, size }, 'storing an inbound report failed');
            callback(smtpError(451, '4.3.0 Temporary failure storing the message, try again later'));
          },
        );
      });
    },
  };

  async function storeAll(tenants: string[], bytes: Buffer, session: SMTPServerSession) {
    const stored = [];
    for (const tenantId of tenants) {
      const result = await storeRawReport({ db: options.db, clock: options.clock }, tenantId, 'smtp', bytes);
      stored.push({ ...result, tenantId });
    }
    log.info(
      {
        ip: session.remoteAddress,
        tls: Boolean(session.secure),
        size: bytes.length,
        rawReports: stored.map((s) => ({ id: s.id, duplicate: s.duplicate })),
      },
      'inbound report stored',
    );
    return stored;
  }

  const server = new SMTPServer(serverOptions);
  server.on('error', (err: Error) => log.warn({ err }, 'inbound smtp error'));

  return {
    listen(host: string, port: number): Promise<AddressInfo> {
      return new Promise((resolve, reject) => {
        server.server.once('error', reject);
        server.listen(port, host, () => {
          server.server.off('error', reject);
          resolve(server.server.address() as AddressInfo);
        });
      });
    },
    close(): Promise<void> {
      return new Promise((resolve) => server.close(() => resolve()));
    },
    /** Open connections per client IP (tests). */
    connectionsFrom(ip: string): number {
      return perIp.get(ip) ?? 0;
    },
  };
}

export type ReportReceiver = ReturnType<typeof createReportReceiver>;

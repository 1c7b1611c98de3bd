/**
 * The e-mail alert channel's mailer: an SMTP relay the operator configures (SMTP_RELAY_URL,
 * `smtp://user:pass@host:587` with STARTTLS required, or `smtps://` for implicit TLS). The relay is
 * the operator's own infrastructure, named in configuration, so it is not behind the SSRF guard
 * (which protects against tenant-supplied targets); the recipient is the tenant's.
 */
import nodemailer from 'nodemailer';
import type { AlertMailer } from './alert-email.ts';

/** Any message the product sends: alerts, digests, and the account mails of libs/auth. */
export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  /** Optional HTML alternative (escaped by whoever built it). */
  html?: string;
  /** What it is for, sent as `X-Mailwarden-Kind` so a relay or a mailbox can sort it. */
  kind: string;
}

export interface SmtpMailerSettings {
  /** `smtp://[user:pass@]host[:port]` (STARTTLS required) or `smtps://…` (implicit TLS). */
  url: string;
  /** The From address, e.g. `Mailwarden <alerts@example.com>`. */
  from: string;
  /** Extra CA certificates (TLS_EXTRA_CA_FILE) for a relay with a private CA. */
  ca?: readonly string[];
  /** Connection, greeting and socket timeouts. Default 15 s. */
  timeoutMs?: number;
  /** Only for tests against a relay without TLS on loopback. */
  allowPlaintext?: boolean;
}

export function createSmtpAlertMailer(
  settings: SmtpMailerSettings,
): AlertMailer & { send(message: OutgoingMail): Promise<void>; close(): void } {
  const url = new URL(settings.url);
  const secure = url.protocol === 'smtps:';
  const timeout = settings.timeoutMs ?? 15_000;
  const transport = nodemailer.createTransport({
    host: url.hostname,
    port: Number(url.port || (secure ? 465 : 587)),
    secure,
    // STARTTLS is required on smtp:// unless a test says otherwise: credentials and alert content
    // never cross the network in clear.
    requireTLS: !secure && !settings.allowPlaintext,
    ignoreTLS: settings.allowPlaintext === true && !secure,
    ...(url.username
      ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } }
      : {}),
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    tls: {
      ...(settings.ca && settings.ca.length > 0 ? { ca: [...settings.ca] } : {}),
      minVersion: 'TLSv1.2',
    },
    // One message per delivery attempt; no pooled connection to keep alive between alerts.
    pool: false,
  });
  return {
    async send(message: OutgoingMail): Promise<void> {
      await transport.sendMail({
        from: settings.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        ...(message.html ? { html: message.html } : {}),
        headers: { 'Auto-Submitted': 'auto-generated', 'X-Mailwarden-Kind': message.kind },
      });
    },
    close: () => transport.close(),
  };
}

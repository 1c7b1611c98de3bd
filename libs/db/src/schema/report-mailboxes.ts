import { sql } from 'drizzle-orm';
import { boolean, check, index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { id, tenantIsolation } from './columns.ts';
import { tenants } from './tenants.ts';

/**
 * IMAP mailboxes the worker polls for DMARC aggregate and TLS-RPT report mail (issue 6 §1c):
 * a tenant that already receives its reports in a mailbox of its own lets Mailwarden read them
 * there instead of changing its `rua=` address. A message is moved or flagged only after its bytes
 * are committed to `raw_reports` and its parse is enqueued.
 */

/** `tls`: implicit TLS from the first byte (RFC 8314 §3.2, port 993); `starttls`: RFC 9051 §6.2.1 (143). Never plaintext. */
export const mailboxSecurityModes = ['tls', 'starttls'] as const;
export type MailboxSecurity = (typeof mailboxSecurityModes)[number];

/** What happens to a message once it is stored: moved to `move_to`, or flagged \Seen + `$MailwardenStored`. */
export const mailboxAfterStoreActions = ['move', 'flag'] as const;
export type MailboxAfterStore = (typeof mailboxAfterStoreActions)[number];

/**
 * How the worker logs in: `password` (LOGIN or SASL PLAIN), or `oauth2`: SASL OAUTHBEARER
 * (RFC 7628) or XOAUTH2 with an access token the worker gets from `oauth_token_url` with the
 * refresh-token grant (RFC 6749 §6), as Microsoft 365 and Google Workspace want.
 */
export const mailboxAuthKinds = ['password', 'oauth2'] as const;
export type MailboxAuthKind = (typeof mailboxAuthKinds)[number];

export const reportMailboxes = pgTable(
  'report_mailboxes',
  {
    id: id(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    /** Host name or IP literal, lower case; vetted by the SSRF guard when saved and on every poll. */
    host: text('host').notNull(),
    port: integer('port').notNull(),
    security: text('security', { enum: mailboxSecurityModes }).notNull(),
    username: text('username').notNull(),
    auth: text('auth', { enum: mailboxAuthKinds }).notNull().default('password'),
    /**
     * SecretBox-sealed under the context `report-mailbox:<id>`; never returned by the API. Only
     * `password` mailboxes have one (`report_mailboxes_auth`).
     */
    passwordCiphertext: text('password_ciphertext'),
    /** `oauth2`: the provider's token endpoint (https only; its host vetted like `host`). */
    oauthTokenUrl: text('oauth_token_url'),
    oauthClientId: text('oauth_client_id'),
    /**
     * Sealed under `report-mailbox:<id>:oauth-client-secret`; null for a public client
     * (RFC 6749 §2.1). Never returned.
     */
    oauthClientSecretCiphertext: text('oauth_client_secret_ciphertext'),
    /**
     * Sealed under `report-mailbox:<id>:oauth-refresh-token`; replaced (in the poll's transaction)
     * when the provider rotates it. Never returned. Access tokens are never stored.
     */
    oauthRefreshTokenCiphertext: text('oauth_refresh_token_ciphertext'),
    /** Space-separated scopes sent with the refresh (RFC 6749 §3.3); null sends none. */
    oauthScope: text('oauth_scope'),
    folder: text('folder').notNull().default('INBOX'),
    afterStore: text('after_store', { enum: mailboxAfterStoreActions }).notNull().default('move'),
    /** The folder stored messages are moved to (`move`), created when missing; `/` separates levels. */
    moveTo: text('move_to').notNull().default('Mailwarden/Processed'),
    enabled: boolean('enabled').notNull().default(true),
    description: text('description').notNull().default(''),
    /** When the scheduler next polls it: the poll interval after a success, a backoff after failures. */
    nextPollAt: timestamp('next_poll_at', { withTimezone: true }).notNull().defaultNow(),
    /** A poll holds the mailbox until then, so two workers never poll one mailbox at once. */
    leaseUntil: timestamp('lease_until', { withTimezone: true }),
    lastPolledAt: timestamp('last_polled_at', { withTimezone: true }),
    lastSuccessAt: timestamp('last_success_at', { withTimezone: true }),
    /** A stable `imap.*` code of the last failed poll (docs/reports.md "IMAP intake"); null after a success. */
    lastErrorCode: text('last_error_code'),
    lastErrorDetail: text('last_error_detail'),
    consecutiveFailures: integer('consecutive_failures').notNull().default(0),
    /**
     * When `report_mailbox.failing` was raised (the streak reached 5); null again once a poll
     * succeeds, which raises `report_mailbox.recovered`. Kept apart from the streak because a
     * changed setting clears the streak, and the fix must still close the alert.
     */
    failingReportedAt: timestamp('failing_reported_at', { withTimezone: true }),
    /** Messages stored by the last successful poll, and those left behind for being too large. */
    lastStoredCount: integer('last_stored_count').notNull().default(0),
    lastSkippedCount: integer('last_skipped_count').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('report_mailboxes_tenant_idx').on(t.tenantId, t.id),
    index('report_mailboxes_due_idx').on(t.nextPollAt).where(sql`${t.enabled}`),
    check('report_mailboxes_port', sql`${t.port} between 1 and 65535`),
    // Each kind has what it logs in with, and no secret of the other kind lingers.
    check(
      'report_mailboxes_auth',
      sql`(${t.auth} = 'password' and ${t.passwordCiphertext} is not null
        and ${t.oauthTokenUrl} is null and ${t.oauthClientId} is null
        and ${t.oauthClientSecretCiphertext} is null and ${t.oauthRefreshTokenCiphertext} is null
        and ${t.oauthScope} is null)
      or (${t.auth} = 'oauth2' and ${t.passwordCiphertext} is null
        and ${t.oauthTokenUrl} like 'https://%' and ${t.oauthClientId} is not null
        and ${t.oauthRefreshTokenCiphertext} is not null)`,
    ),
    tenantIsolation(),
  ],
).enableRLS();

export type ReportMailboxRow = typeof reportMailboxes.$inferSelect;

import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  customType,
  date,
  index,
  inet,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { id, tenantIsolation } from './columns.ts';
import { domains, tenantDomainKey } from './domains.ts';
import { tenants } from './tenants.ts';

/**
 * DMARC aggregate and SMTP TLS reports (issue 6, DESIGN.md §2.7). Raw bytes are committed first
 * (`raw_reports`), before the SMTP 250 or the HTTP 202; a parse job then turns them into report
 * rows in one transaction per raw report, so a parse cut short leaves nothing half-written.
 */

/** Raw bytes as Buffer; drizzle-orm has no bytea column of its own. */
const bytea = customType<{ data: Buffer; driverData: Buffer }>({
  dataType: () => 'bytea',
});

/** Largest raw report stored; the intake refuses bigger ones before storing anything. */
export const maxRawReportBytes = 64 * 1024 * 1024;

export const reportIntakes = ['smtp', 'upload', 'imap'] as const;
export type ReportIntake = (typeof reportIntakes)[number];

/**
 * `duplicate`: parsed, but every report in it was already stored (from other bytes: a re-send with
 * new MIME headers). `quarantined`: parsed, but no report in it is about a domain the tenant watches.
 */
export const rawReportStates = ['pending', 'parsed', 'failed', 'quarantined', 'duplicate'] as const;
export type RawReportState = (typeof rawReportStates)[number];

/** One input as received: a mail message, an uploaded file. The same bytes twice are one row. */
export const rawReports = pgTable(
  'raw_reports',
  {
    id: id(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    receivedVia: text('received_via', { enum: reportIntakes }).notNull(),
    /** Lower-case hex SHA-256 of `bytes`. */
    sha256: text('sha256').notNull(),
    size: integer('size').notNull(),
    bytes: bytea('bytes').notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
    parseState: text('parse_state', { enum: rawReportStates }).notNull().default('pending'),
    /** A `report.*` code of libs/reports when the parse failed. */
    errorCode: text('error_code'),
    errorDetail: text('error_detail'),
    parsedAt: timestamp('parsed_at', { withTimezone: true }),
    /** Parse attempts begun; a raw report that keeps killing its parser is failed, not retried forever. */
    attempts: integer('attempts').notNull().default(0),
    /**
     * The input held a failure (ARF) report: its bytes carry a copy of someone's message, so the
     * whole raw report is purged after the tenant's short failure-report retention.
     */
    holdsFailureReports: boolean('holds_failure_reports').notNull().default(false),
  },
  (t) => [
    uniqueIndex('raw_reports_tenant_sha256_key').on(t.tenantId, t.sha256),
    index('raw_reports_tenant_id_idx').on(t.tenantId, t.id),
    index('raw_reports_pending_idx').on(t.receivedAt).where(sql`${t.parseState} = 'pending'`),
    check('raw_reports_sha256_hex', sql`${t.sha256} ~ '^[0-9a-f]{64}$'`),
    check(
      'raw_reports_size',
      sql`${t.size} = octet_length(${t.bytes}) and ${t.size} <= ${sql.raw(String(maxRawReportBytes))}`,
    ),
    tenantIsolation(),
  ],
).enableRLS();

/**
 * One DMARC aggregate report. The unique key is the deduplication key of the issue: a report is
 * (reporter org, report id, policy domain, date range), so the same report mailed twice, or at the
 * same moment by two parses, is inserted once (`on conflict do nothing`).
 */
export const dmarcReports = pgTable(
  'dmarc_reports',
  {
    id: id(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    rawReportId: uuid('raw_report_id')
      .notNull()
      .references(() => rawReports.id, { onDelete: 'cascade' }),
    /** Where in the raw input it was found (`mime part 2 "r.zip" > zip entry "a.xml"`). */
    source: text('source').notNull().default(''),
    format: text('format').notNull(),
    orgName: text('org_name').notNull(),
    email: text('email'),
    /** The reporter's report id (RFC 7489 Appendix C `report_id`). */
    reportId: text('report_id').notNull(),
    policyDomain: text('policy_domain').notNull(),
    /** The tenant's domain of that name; null when quarantined. */
    domainId: uuid('domain_id').references(() => domains.id, { onDelete: 'set null' }),
    dateBegin: timestamp('date_begin', { withTimezone: true }).notNull(),
    dateEnd: timestamp('date_end', { withTimezone: true }).notNull(),
    policyPublished: jsonb('policy_published').$type<Record<string, unknown>>().notNull(),
    /** Reporter-side errors (`report_metadata/error`), as sent. */
    errors: jsonb('errors').$type<string[]>().notNull().default([]),
    recordCount: integer('record_count').notNull(),
    messageCount: bigint('message_count', { mode: 'number' }).notNull(),
    /** About a domain the tenant does not watch: kept, never shown or counted. */
    quarantined: boolean('quarantined').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('dmarc_reports_dedup_key').on(
      t.tenantId,
      t.orgName,
      t.reportId,
      t.policyDomain,
      t.dateBegin,
      t.dateEnd,
    ),
    index('dmarc_reports_tenant_id_idx').on(t.tenantId, t.id),
    index('dmarc_reports_tenant_domain_idx').on(t.tenantId, t.domainId, t.dateBegin),
    index('dmarc_reports_raw_idx').on(t.rawReportId),
    tenantIsolation(),
  ],
).enableRLS();

/**
 * One record of an aggregate report on one UTC day (multi-day reports are split with
 * `splitIntoDailyBuckets`). `domain_id` is copied from the report so per-domain, per-day analytics
 * read one index; it is null for quarantined reports. Written in batches, never row by row.
 */
export const dmarcReportRows = pgTable(
  'dmarc_report_rows',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    /**
     * No foreign key on tenant_id or domain_id: this is the bulk table, and each foreign key is a
     * per-row trigger that more than doubles insert time. The report_id key carries the deletes
     * (tenant -> report -> rows cascade); domain_id is a copy of the report's, written by the
     * ingest from a domain of the same tenant, and a purged domain's id is simply never asked for.
     */
    tenantId: uuid('tenant_id').notNull(),
    reportId: uuid('report_id')
      .notNull()
      .references(() => dmarcReports.id, { onDelete: 'cascade' }),
    domainId: uuid('domain_id'),
    day: date('day', { mode: 'string' }).notNull(),
    /** Null when the reporter sent an unparsable address (the count still counts). */
    sourceIp: inet('source_ip'),
    count: integer('count').notNull(),
    disposition: text('disposition'),
    /** policy_evaluated: the DMARC-aligned results as the reporter states them. */
    dkimEvaluated: text('dkim_evaluated'),
    spfEvaluated: text('spf_evaluated'),
    /** recordAlignment(): from policy_evaluated, or derived from auth_results when left out. */
    dkimAligned: boolean('dkim_aligned').notNull(),
    spfAligned: boolean('spf_aligned').notNull(),
    headerFrom: text('header_from'),
    envelopeFrom: text('envelope_from'),
    reasons: jsonb('reasons').$type<unknown[]>().notNull().default([]),
    dkimAuth: jsonb('dkim_auth').$type<unknown[]>().notNull().default([]),
    spfAuth: jsonb('spf_auth').$type<unknown[]>().notNull().default([]),
  },
  (t) => [
    index('dmarc_report_rows_report_idx').on(t.reportId),
    index('dmarc_report_rows_domain_day_idx').on(t.tenantId, t.domainId, t.day),
    check('dmarc_report_rows_count', sql`${t.count} >= 0`),
    tenantIsolation(),
  ],
).enableRLS();

/** One SMTP TLS report (RFC 8460 §4); deduplicated like aggregate reports. */
export const tlsReports = pgTable(
  'tls_reports',
  {
    id: id(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    rawReportId: uuid('raw_report_id')
      .notNull()
      .references(() => rawReports.id, { onDelete: 'cascade' }),
    source: text('source').notNull().default(''),
    orgName: text('org_name').notNull(),
    reportId: text('report_id').notNull(),
    contactInfo: text('contact_info'),
    dateBegin: timestamp('date_begin', { withTimezone: true }).notNull(),
    dateEnd: timestamp('date_end', { withTimezone: true }).notNull(),
    successfulSessions: bigint('successful_sessions', { mode: 'number' }).notNull(),
    failedSessions: bigint('failed_sessions', { mode: 'number' }).notNull(),
    /** None of its policy domains is watched by the tenant. */
    quarantined: boolean('quarantined').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('tls_reports_dedup_key').on(t.tenantId, t.orgName, t.reportId, t.dateBegin, t.dateEnd),
    index('tls_reports_tenant_id_idx').on(t.tenantId, t.id),
    index('tls_reports_raw_idx').on(t.rawReportId),
    tenantIsolation(),
  ],
).enableRLS();

/** One policy result of a TLS report, with its failure details (RFC 8460 §4.3) as sent. */
export const tlsReportPolicies = pgTable(
  'tls_report_policies',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    reportId: uuid('report_id')
      .notNull()
      .references(() => tlsReports.id, { onDelete: 'cascade' }),
    domainId: uuid('domain_id').references(() => domains.id, { onDelete: 'set null' }),
    day: date('day', { mode: 'string' }).notNull(),
    policyType: text('policy_type').notNull(),
    policyDomain: text('policy_domain'),
    policyStrings: jsonb('policy_strings').$type<string[]>().notNull().default([]),
    mxHosts: text('mx_hosts').array().notNull().default(sql`'{}'::text[]`),
    successfulSessions: bigint('successful_sessions', { mode: 'number' }).notNull(),
    failedSessions: bigint('failed_sessions', { mode: 'number' }).notNull(),
    failureDetails: jsonb('failure_details').$type<unknown[]>().notNull().default([]),
  },
  (t) => [
    index('tls_report_policies_report_idx').on(t.reportId),
    index('tls_report_policies_domain_day_idx').on(t.tenantId, t.domainId, t.day),
    tenantIsolation(),
  ],
).enableRLS();

/**
 * The tenant's report address `<token>@<INBOUND_DOMAIN>`. The token is random (not guessable from
 * the tenant id); the SMTP receiver resolves it at RCPT through `mailwarden_report_address_tenant`,
 * since it does not know the tenant yet.
 */
export const reportAddresses = pgTable(
  'report_addresses',
  {
    token: text('token').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('report_addresses_tenant_key').on(t.tenantId),
    check('report_addresses_token', sql`${t.token} ~ '^[a-z0-9]{16,64}$'`),
    tenantIsolation(),
  ],
).enableRLS();

/**
 * One DMARC failure (ARF, RFC 6591) report, stored only when the tenant opted in
 * (`tenant_settings.store_failure_reports`), already redacted by libs/reports (addresses become
 * `*@domain`, no body, a short list of headers), and purged after
 * `failure_report_retention_days`. Only reports about a watched domain are kept.
 */
export const failureReports = pgTable(
  'failure_reports',
  {
    id: id(),
    tenantId: uuid('tenant_id').notNull(),
    rawReportId: uuid('raw_report_id')
      .notNull()
      .references(() => rawReports.id, { onDelete: 'cascade' }),
    /** Where in the raw input it was found (`mime part 2`). */
    source: text('source').notNull().default(''),
    domainId: uuid('domain_id').notNull(),
    reportedDomain: text('reported_domain').notNull(),
    feedbackType: text('feedback_type').notNull(),
    arrivalDate: timestamp('arrival_date', { withTimezone: true }),
    sourceIp: inet('source_ip'),
    authFailure: text('auth_failure'),
    deliveryResult: text('delivery_result'),
    identityAlignment: text('identity_alignment'),
    originalMailFrom: text('original_mail_from'),
    originalRcptTo: text('original_rcpt_to').array().notNull().default(sql`'{}'::text[]`),
    dkimDomain: text('dkim_domain'),
    dkimSelector: text('dkim_selector'),
    spfDns: text('spf_dns'),
    authenticationResults: jsonb('authentication_results').$type<string[]>().notNull().default([]),
    /** The kept headers of the reported message, redacted: `[{name, value}]` in order. */
    headers: jsonb('headers').$type<{ name: string; value: string }[]>().notNull().default([]),
    reporter: text('reporter'),
    userAgent: text('user_agent'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('failure_reports_raw_source_key').on(t.rawReportId, t.source),
    index('failure_reports_tenant_domain_idx').on(t.tenantId, t.domainId, t.id),
    index('failure_reports_tenant_id_idx').on(t.tenantId, t.id),
    tenantDomainKey('failure_reports_domain_fk', t.tenantId, t.domainId),
    tenantIsolation(),
  ],
).enableRLS();

export type RawReportRow = typeof rawReports.$inferSelect;
export type DmarcReportRow = typeof dmarcReports.$inferSelect;
export type DmarcReportRecordRow = typeof dmarcReportRows.$inferSelect;
export type TlsReportRow = typeof tlsReports.$inferSelect;
export type TlsReportPolicyRow = typeof tlsReportPolicies.$inferSelect;
export type ReportAddressRow = typeof reportAddresses.$inferSelect;
export type FailureReportRow = typeof failureReports.$inferSelect;

/**
 * Reverse DNS of report source addresses (issue 6 §4: "reverse DNS cached"): public DNS facts,
 * not tenant data, so one row per address serves every tenant; nothing lists it, the analytics
 * join it only for addresses in the tenant's own rows. `outcome` `unknown` rows are retried soon,
 * the others after a day (report-source-names.ts).
 */
export const sourceIpNames = pgTable('source_ip_names', {
  ip: inet('ip').primaryKey(),
  outcome: text('outcome', { enum: ['named', 'no_ptr', 'unknown'] }).notNull(),
  ptr: text('ptr'),
  forwardConfirmed: boolean('forward_confirmed').notNull().default(false),
  providerId: text('provider_id'),
  providerName: text('provider_name'),
  resolvedAt: timestamp('resolved_at', { withTimezone: true }).notNull(),
});

import { readFileSync } from 'node:fs';
import { blocklistsVariable, parseTrustAnchors, type TrustAnchor } from '@mailwarden/checks';
import {
  bool,
  type ConfigOf,
  type DeploymentMode,
  encryptionVariables,
  int,
  loadConfig,
  logLevel,
  str,
  url,
  type VariableSpec,
} from '@mailwarden/core';
import { databaseVariables } from '@mailwarden/db';
import { netVariables } from '@mailwarden/net';

/**
 * The worker's whole configuration, read once at start. This is the only file of the worker that
 * reads `process.env`; everything else receives the parsed object.
 */

/** The prefix becomes the first part of every Redis key; `:` would break BullMQ's key layout. */
const queuePrefix: VariableSpec<string> = {
  description: 'Redis key prefix of every queue',
  fallback: 'mw',
  parse(raw) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(raw)) throw new Error('must be 1-64 letters, digits, "-" or "_"');
    return raw;
  },
};

/** DS/DNSKEY trust anchors (presentation format); unset: the IANA root anchors built into the validator. */
const trustAnchors: VariableSpec<TrustAnchor[] | null> = {
  description: 'file of DNSSEC trust anchors (DS or DNSKEY records)',
  fallback: null,
  parse(raw) {
    const parsed = parseTrustAnchors(readFileSync(raw, 'utf8'));
    if (parsed.errors.length > 0)
      throw new Error(parsed.errors.map((e) => `line ${e.line}: ${e.message}`).join('; '));
    if (parsed.anchors.length === 0) throw new Error('holds no trust anchor');
    return parsed.anchors;
  },
};

const schema = {
  LOG_LEVEL: logLevel(),
  DATABASE_URL: databaseVariables.DATABASE_URL,
  REDIS_URL: {
    ...url('Redis connection URL for BullMQ', ['redis:', 'rediss:'], 'redis://127.0.0.1:6379'),
    secret: true,
  },
  QUEUE_PREFIX: queuePrefix,
  WORKER_HTTP_HOST: str('address of the /healthz, /readyz and /metrics listener', '127.0.0.1'),
  // 0 asks the kernel for a free port (tests); the bound port is logged in the ready line.
  WORKER_HTTP_PORT: int('port of the health and metrics listener', { min: 0, max: 65_535 }, 9464),
  WORKER_SHUTDOWN_TIMEOUT_MS: int(
    'how long in-flight jobs may finish after SIGTERM before they are left to the stalled check',
    { min: 0, max: 600_000 },
    30_000,
  ),
  WORKER_CONCURRENCY: int(
    'jobs processed at once per queue without its own setting',
    { min: 1, max: 256 },
    8,
  ),
  // Per check family (DESIGN.md §2.3): DNS checks are cheap and many; SMTP probes touch other
  // people's servers and are held back further by the probe's own per-host limits.
  // Counted in checks (domain names), whatever the jobs they arrive in (batches, docs/scheduler.md).
  CHECKS_DNS_CONCURRENCY: int('DNS-family checks (names) at once', { min: 1, max: 1024 }, 64),
  CHECKS_DNSSEC_CONCURRENCY: int('DNSSEC-family checks (names) at once', { min: 1, max: 1024 }, 32),
  CHECKS_TLS_CONCURRENCY: int('MX probes (names) at once', { min: 1, max: 256 }, 8),
  CHECKS_BLOCKLIST_CONCURRENCY: int('blocklist checks (names) at once', { min: 1, max: 1024 }, 32),
  WEBHOOK_CONCURRENCY: int('webhook deliveries at once', { min: 1, max: 1024 }, 32),
  // Report parses are CPU and memory heavy: few at once, each in a worker thread of bounded heap.
  REPORT_CONCURRENCY: int('report parse jobs at once', { min: 1, max: 64 }, 2),
  REPORT_PARSE_HEAP_MB: int('heap limit of one report parser thread (MiB)', { min: 32, max: 4_096 }, 256),
  REPORT_PARSE_TIMEOUT_MS: int(
    'wall-clock limit of one report parse',
    { min: 1_000, max: 3_600_000 },
    120_000,
  ),
  // IMAP report mailboxes (docs/reports.md "IMAP intake"): polls wait on other people's servers,
  // so they have their own queue and concurrency.
  REPORT_IMAP_POLL_SECONDS: int(
    'time between two polls of one IMAP report mailbox (longer after failures)',
    { min: 60, max: 86_400 },
    300,
  ),
  REPORT_IMAP_CONCURRENCY: int('IMAP report mailbox polls at once', { min: 1, max: 256 }, 4),
  REPORT_IMAP_MAX_MESSAGE_BYTES: int(
    'largest report message taken from an IMAP mailbox; bigger ones are left there',
    { min: 1024, max: 64 * 1024 * 1024 },
    32 * 1024 * 1024,
  ),
  SCHEDULER_TICK_MS: int('how often due checks are enqueued', { min: 1_000, max: 600_000 }, 15_000),
  OUTBOX_SWEEP_MS: int(
    'how often lost events and deliveries are looked for',
    { min: 1_000, max: 3_600_000 },
    60_000,
  ),
  DNS_TIMEOUT_MS: int('per-attempt DNS timeout', { min: 50, max: 30_000 }, 2_000),
  FETCH_TIMEOUT_MS: int('timeout of MTA-STS and BIMI fetches', { min: 100, max: 60_000 }, 10_000),
  ...netVariables,
  DNSSEC_TRUST_ANCHORS: trustAnchors,
  SMTP_PROBE_PORT: int('port of MX probes', { min: 1, max: 65_535 }, 25),
  DNSSEC_EXPIRING_DAYS: int('warn when an RRSIG expires within this many days', { min: 1, max: 60 }, 7),
  BLOCKLISTS_IP: blocklistsVariable('ip'),
  BLOCKLISTS_DOMAIN: blocklistsVariable('domain'),
  ...encryptionVariables,
  SMTP_RELAY_URL: {
    ...str(
      'SMTP relay for e-mail alerts, smtp://user:pass@host:587 (STARTTLS) or smtps://; empty: no e-mail alerts',
      '',
    ),
    secret: true,
    parse: (raw: string) => url('', ['smtp:', 'smtps:']).parse(raw),
  },
  ALERT_MAIL_FROM: str('From address of alert mail', 'Mailwarden <alerts@localhost>'),
  PUBLIC_BASE_URL: str('public URL of the dashboard, for links in alerts; empty for none', ''),
  WEBHOOK_TIMEOUT_MS: int('timeout of one webhook delivery attempt', { min: 100, max: 60_000 }, 15_000),
  WEBHOOK_ALLOW_HTTP: bool('allow http: webhook URLs (labs only)', false),
  // A job whose lock is not renewed within this time counts as stalled and is retried elsewhere.
  WORKER_LOCK_DURATION_MS: int('job lock duration', { min: 1_000, max: 600_000 }, 30_000),
  WORKER_STALLED_INTERVAL_MS: int(
    'how often stalled jobs are looked for',
    { min: 100, max: 600_000 },
    30_000,
  ),
};

export type WorkerConfig = ConfigOf<typeof schema> & { mode: DeploymentMode };

/** Every bad or missing variable, the deployment mode included, is reported in one ConfigError. */
export function loadWorkerConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): WorkerConfig {
  return loadConfig(schema, env);
}

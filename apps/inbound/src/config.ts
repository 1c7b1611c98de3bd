import {
  type ConfigOf,
  type DeploymentMode,
  int,
  loadConfig,
  logLevel,
  str,
  url,
  type VariableSpec,
} from '@mailwarden/core';
import { databaseVariables } from '@mailwarden/db';

/**
 * The inbound (report mail receiver) configuration, read once at start. This is the only file of
 * the app that reads `process.env`.
 */

/** The mail domain of the rua/TLS-RPT addresses; a bare DNS name, compared case-insensitively. */
const inboundDomain: VariableSpec<string> = {
  description: 'domain of the report addresses (rua=mailto:…@<domain>)',
  fallback: 'reports.localhost',
  parse(raw) {
    const value = raw.toLowerCase().replace(/\.$/, '');
    const label = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
    if (value.length > 253 || !value.split('.').every((l) => label.test(l))) {
      throw new Error('must be a domain name such as reports.example.com');
    }
    return value;
  },
};

/** A PEM file path for STARTTLS; required in production (reports must be receivable over TLS). */
const tlsFile = (what: string): VariableSpec<string> => ({
  description: `PEM file of the STARTTLS ${what}`,
  fallback: (mode) => (mode === 'production' ? undefined : ''),
  parse: (raw) => raw,
});

/** The prefix becomes the first part of every Redis key; `:` would break BullMQ's key layout. */
const queuePrefix: VariableSpec<string> = {
  description: "Redis key prefix of every queue (the worker's QUEUE_PREFIX)",
  fallback: 'mw',
  parse(raw) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(raw)) throw new Error('must be 1-64 letters, digits, "-" or "_"');
    return raw;
  },
};

const schema = {
  LOG_LEVEL: logLevel(),
  DATABASE_URL: databaseVariables.DATABASE_URL,
  REDIS_URL: url('Redis of the job queues', ['redis:', 'rediss:'], 'redis://127.0.0.1:6379'),
  QUEUE_PREFIX: queuePrefix,
  INBOUND_SMTP_HOST: str('address the SMTP receiver binds to', '127.0.0.1'),
  // 0 asks the kernel for a free port (tests).
  INBOUND_SMTP_PORT: int('port the SMTP receiver binds to', { min: 0, max: 65_535 }, 2525),
  INBOUND_DOMAIN: inboundDomain,
  INBOUND_MAX_MESSAGE_BYTES: int(
    'largest report message accepted (SIZE, RFC 1870)',
    { min: 1024, max: 64 * 1024 * 1024 },
    32 * 1024 * 1024,
  ),
  INBOUND_MAX_CONNECTIONS: int('SMTP connections at once', { min: 1, max: 100_000 }, 500),
  INBOUND_MAX_CONNECTIONS_PER_IP: int(
    'SMTP connections at once from one client address',
    { min: 1, max: 10_000 },
    10,
  ),
  INBOUND_TLS_CERT_FILE: tlsFile('certificate chain'),
  INBOUND_TLS_KEY_FILE: tlsFile('private key'),
};

export type InboundConfig = ConfigOf<typeof schema> & { mode: DeploymentMode };

/** Every bad or missing variable, the deployment mode included, is reported in one ConfigError. */
export function loadInboundConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): InboundConfig {
  return loadConfig(schema, env);
}

import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { parseEncryptionKey } from '@mailwarden/auth';
import { blocklistsVariable, DEFAULT_MESSAGE_MAX_BYTES } from '@mailwarden/checks';
import {
  bool,
  type DeploymentMode,
  int,
  list,
  loadConfig,
  logLevel,
  str,
  url,
  type VariableSpec,
} from '@mailwarden/core';
import { databaseVariables } from '@mailwarden/db';
import { netVariables } from '@mailwarden/net';

/** Every variable the API reads (DESIGN.md §4). Only this file looks at process.env. */
export const apiVariables = {
  LOG_LEVEL: logLevel(),
  API_HOST: str('address the API listens on', '127.0.0.1'),
  API_PORT: int('port the API listens on', { min: 0, max: 65535 }, 3000),
  PUBLIC_BASE_URL: url(
    'URL at which clients reach the API (links in docs and alerts)',
    ['http:', 'https:'],
    (mode) => (mode === 'production' ? undefined : 'http://127.0.0.1:3000'),
  ),
  DATABASE_URL: databaseVariables.DATABASE_URL,
  REDIS_URL: url('Redis for queues, rate limits and caches', ['redis:', 'rediss:'], 'redis://127.0.0.1:6379'),
  REDIS_KEY_PREFIX: str(
    'prefix of every Redis key (queues, rate limits), so deployments can share a Redis',
    'mw',
  ),
  CORS_ORIGINS: list(
    'browser origins allowed to call the API; empty means no cross-origin access',
    (raw) => {
      if (raw === '*') return raw;
      const parsed = new URL(raw);
      if (parsed.origin !== raw) throw new Error('must be an origin like https://app.example.com');
      return raw;
    },
    [],
  ),
  TRUST_PROXY: bool('trust X-Forwarded-* from a reverse proxy in front of the API', false),
  BODY_LIMIT_BYTES: int('largest accepted request body', { min: 1024, max: 64 * 1024 * 1024 }, 1024 * 1024),
  REQUEST_TIMEOUT_MS: int('time allowed to receive a whole request', { min: 1000, max: 600_000 }, 30_000),
  RATE_LIMIT_PER_MINUTE: int(
    'default requests per minute per client on /v1 and /graphql',
    { min: 1, max: 1_000_000 },
    600,
  ),
  GRAPHQL_MAX_DEPTH: int('deepest GraphQL query accepted', { min: 2, max: 50 }, 10),
  GRAPHQL_MAX_COST: int(
    'largest static cost of a GraphQL operation: fields times page sizes (docs/monitoring.md)',
    { min: 100, max: 10_000_000 },
    50_000,
  ),
  GRAPHQL_MAX_ALIASES: int('most aliased fields in one GraphQL document', { min: 1, max: 1_000 }, 50),
  // Lookups the API makes itself (message check, domain verification, webhook targets). Tests must
  // name their loopback server: no test falls back to the machine's resolver.
  ...netVariables,
  QUEUE_PREFIX: str('Redis key prefix of the job queues; the worker and inbound must use the same', 'mw'),
  WEBHOOK_ALLOW_HTTP: bool('allow http: webhook URLs (labs only)', false),
  SMTP_RELAY_URL: {
    ...str(
      'SMTP relay (smtp://user:pass@host:587 with STARTTLS, or smtps://) for account mail; e-mail alert endpoints are accepted when set',
      '',
    ),
    secret: true,
    parse: (raw: string) => url('', ['smtp:', 'smtps:']).parse(raw),
  },
  MAIL_FROM: str('From address of account mail', 'Mailwarden <no-reply@localhost>'),
  SCAN_NOW_INTERVAL_SECONDS: int(
    'least time between two scan-now requests of one domain',
    { min: 1, max: 3_600 },
    60,
  ),
  BLOCKLISTS_IP: blocklistsVariable('ip'),
  BLOCKLISTS_DOMAIN: blocklistsVariable('domain'),
  MESSAGE_CHECK_MAX_BYTES: int(
    'largest message POST /v1/messages/check reads (raw bytes; base64 in JSON may be a third larger)',
    { min: 1024, max: 50 * 1024 * 1024 },
    DEFAULT_MESSAGE_MAX_BYTES,
  ),
  INBOUND_DOMAIN: str(
    'domain of the report addresses the inbound receiver accepts (rua=mailto:<token>@<domain>)',
    'reports.localhost',
  ),
  REPORT_UPLOAD_MAX_BYTES: int(
    'largest report file POST /v1/reports accepts (xml, gz, zip, json or a whole message)',
    { min: 1024, max: 64 * 1024 * 1024 },
    32 * 1024 * 1024,
  ),
  MESSAGE_CHECK_PER_MINUTE: int(
    'message checks per minute per client address (each costs DNS lookups and CPU)',
    { min: 1, max: 100_000 },
    30,
  ),
  ENCRYPTION_KEY: {
    description:
      'base64 of 32 random bytes: key for secrets at rest (TOTP seeds, signing keys, webhook secrets)',
    secret: true,
    // No default outside development and test; there a random key per start (sealed data is lost on restart).
    fallback: (mode: DeploymentMode) => (mode === 'production' ? undefined : randomBytes(32)),
    parse: parseEncryptionKey,
  } satisfies VariableSpec<Buffer>,
  ENCRYPTION_KEYS_PREVIOUS: {
    ...list(
      'earlier ENCRYPTION_KEYs, comma list: still decrypt, never encrypt (key rotation)',
      parseEncryptionKey,
      [],
    ),
    secret: true,
  },
  JWT_ISSUER: str('`iss` of access tokens; empty means PUBLIC_BASE_URL', ''),
  JWT_AUDIENCE: str('`aud` of access tokens', 'mailwarden-api'),
  JWT_ACCESS_TTL_SECONDS: int('lifetime of an access token (at most 15 minutes)', { min: 60, max: 900 }, 900),
  JWT_KEY_ROTATION_DAYS: int('age at which the signing key is replaced', { min: 1, max: 365 }, 30),
  JWT_KEY_PUBLISH_LEAD_SECONDS: int(
    'how long a new signing key is in the JWKS before it signs (>= 2x the JWKS max-age of 300 s)',
    { min: 600, max: 7 * 86_400 },
    3600,
  ),
  REFRESH_TOKEN_TTL_DAYS: int(
    'absolute lifetime of a session and its refresh tokens',
    { min: 1, max: 90 },
    30,
  ),
  PASSWORD_HASH_MEMORY_KIB: int(
    'argon2id memory per hash in KiB (OWASP floor 19456)',
    { min: 19_456, max: 4_194_304 },
    19_456,
  ),
  PASSWORD_HASH_TIME_COST: int('argon2id passes', { min: 2, max: 20 }, 2),
  // Default: all cores but one, which stays with the event loop so a login flood cannot slow the rest.
  PASSWORD_HASH_CONCURRENCY: int(
    'password hashes computed at once',
    { min: 1, max: 64 },
    Math.max(1, availableParallelism() - 1),
  ),
  PASSWORD_HASH_QUEUE_LIMIT: int(
    'password hashes allowed to wait; beyond, sign-in answers 503',
    { min: 0, max: 10_000 },
    64,
  ),
  AUTH_CACHE_TTL_MS: int(
    'how long a session or API key check is cached in-process',
    { min: 0, max: 60_000 },
    5_000,
  ),
};

export type ApiConfig = ReturnType<typeof loadApiConfig>;

export function loadApiConfig(env: Readonly<Record<string, string | undefined>> = process.env) {
  return loadConfig(apiVariables, env);
}

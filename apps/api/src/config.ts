import { randomBytes } from 'node:crypto';
import { bool, int, list, loadConfig, logLevel, secret, str, url } from '@mailwarden/core';
import { databaseVariables } from '@mailwarden/db';

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
  ENCRYPTION_KEY: secret('base64 of 32 random bytes: key for secrets at rest (TOTP seeds, webhook secrets)', {
    minLength: 44,
    devFallback: () => randomBytes(32).toString('base64'),
  }),
};

export type ApiConfig = ReturnType<typeof loadApiConfig>;

export function loadApiConfig(env: Readonly<Record<string, string | undefined>> = process.env) {
  return loadConfig(apiVariables, env);
}

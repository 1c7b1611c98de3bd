/**
 * No Docker engine runs on CI machines, so the compose file and the Dockerfile are checked by
 * reading them: the invariants a deployment relies on, not their whole text.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = new URL('..', import.meta.url);
// Compose resolves YAML merge keys (<<), so the test does too.
const compose = parse(readFileSync(new URL('docker-compose.yml', root), 'utf8'), { merge: true });
const dockerfile = readFileSync(new URL('Dockerfile', root), 'utf8');

describe('docker-compose.yml', () => {
  it('should run postgres 16 and a redis that keeps every BullMQ key', () => {
    expect(compose.services.postgres.image).toBe('postgres:16');
    expect(compose.services.redis.image).toBe('redis:7');
    expect(compose.services.redis.command.join(' ')).toMatch(
      /--appendonly yes.*--maxmemory-policy noeviction/,
    );
  });

  it('should migrate once before api, worker and inbound start, all from one image', () => {
    expect(compose.services.migrate.restart).toBe('no');
    expect(compose.services.migrate.command).toEqual(['node', 'libs/db/src/migrate.cli.ts']);
    for (const name of ['api', 'worker', 'inbound']) {
      const service = compose.services[name];
      expect(service.build).toBe('.');
      expect(service.image).toBe('mailwarden:local');
      expect(service.depends_on.migrate.condition).toBe('service_completed_successfully');
      expect(service.environment.MAILWARDEN_ENV).toBe('production');
    }
    expect(compose.services.api.command).toEqual(['node', 'apps/api/src/server.ts']);
    expect(compose.services.worker.command).toEqual(['node', 'apps/worker/src/main.ts']);
    expect(compose.services.inbound.command).toEqual(['node', 'apps/inbound/src/main.ts']);
  });

  it('should take every secret from the environment, never from the file', () => {
    const text = readFileSync(new URL('docker-compose.yml', root), 'utf8');
    expect(text).toMatch(/ENCRYPTION_KEY: \$\{MAILWARDEN_ENCRYPTION_KEY:\?/);
    expect(text).toMatch(/POSTGRES_PASSWORD: \$\{POSTGRES_PASSWORD:\?/);
    // The apps connect as the app role; only the migrate service knows the superuser.
    expect(compose.services.api.environment.DATABASE_URL).toMatch(/^postgres:\/\/mailwarden:/);
    expect(compose.services.api.environment.DATABASE_ADMIN_URL).toBeUndefined();
    expect(compose.services.migrate.environment.DATABASE_ADMIN_URL).toMatch(/^postgres:\/\/postgres:/);
  });
});

describe('Dockerfile', () => {
  it('should build on node:24-slim with production dependencies only and run as a non-root user', () => {
    expect(dockerfile).toMatch(/^FROM node:24-slim/m);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^USER node$/m);
    for (const service of ['api', 'worker', 'inbound', 'cli']) {
      expect(dockerfile).toContain(`COPY apps/${service}/package.json apps/${service}/`);
    }
  });
});

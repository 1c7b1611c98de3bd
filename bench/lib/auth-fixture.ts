/**
 * A database of its own for the accounts benchmarks (created, migrated and dropped like the test
 * run's), and a tenant in it with an admin API key and `auditEvents` audit events to list.
 */
import { randomBytes } from 'node:crypto';
import { decodeId } from '@mailwarden/core';
import { dropDatabase, runMigrations, setupDatabase, withTenant } from '@mailwarden/db';
import { waitForReady } from '@mailwarden/queue';
import { loadApiConfig } from '../../apps/api/src/config.ts';
import { createApiContainer } from '../../apps/api/src/container.ts';

const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function urlFor(role: string, database: string): string {
  const url = new URL(ADMIN_URL);
  url.username = role;
  url.password = '';
  url.pathname = `/${database}`;
  return url.toString();
}

export async function createBenchDatabase(): Promise<{ appUrl: string; drop(): Promise<void> }> {
  const database = `mw_bench_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const ownerUrl = urlFor('mailwarden_bench_owner', database);
  const appUrl = urlFor('mailwarden_bench_app', database);
  await setupDatabase({ adminUrl: ADMIN_URL, migrationUrl: ownerUrl, appUrl });
  await runMigrations(ownerUrl);
  return { appUrl, drop: () => dropDatabase(ADMIN_URL, database) };
}

/** The environment the API children run with: the bench database, limits out of the way. */
export function benchEnv(appUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    MAILWARDEN_ENV: 'development',
    DATABASE_URL: appUrl,
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    REDIS_KEY_PREFIX: `bench-${process.pid}`,
    // The global limit is counted in Redis on every request but never reached.
    RATE_LIMIT_PER_MINUTE: '1000000',
    // Every process must open what the seeding process sealed.
    ENCRYPTION_KEY: benchEncryptionKey,
    ...extra,
  };
}

const benchEncryptionKey = randomBytes(32).toString('base64');

export async function seedTenant(
  appUrl: string,
  auditEvents: number,
): Promise<{ tenantId: string; apiKey: string }> {
  const config = loadApiConfig({ ...benchEnv(appUrl), LOG_LEVEL: 'silent' });
  const container = createApiContainer(config);
  try {
    await waitForReady(container.redis, 5_000);
    const meta = { ip: '127.0.0.1', userAgent: 'bench-seed' };
    const signed = await container.auth.signUp.signUp(
      {
        email: `bench-${randomBytes(4).toString('hex')}@bench.example`,
        password: 'glacier tundra marmalade obelisk',
        tenantName: 'Bench',
      },
      meta,
    );
    const tenantId = decodeId('ten', signed.tenant.id)!;
    const userId = decodeId('usr', signed.user.id)!;
    const principal = {
      tenantId,
      actorId: signed.user.id,
      actorType: 'user' as const,
      role: 'owner' as const,
      scopes: ['read' as const, 'write' as const, 'admin' as const],
      userId,
      sessionId: decodeId('ses', signed.tokens.sessionId)!,
      apiKeyId: null,
      mfaVerified: true,
      restriction: null,
    };
    const { key } = await container.auth.apiKeys.create(
      principal,
      { name: 'bench', scopes: ['admin'] },
      meta,
    );
    await withTenant(container.db, tenantId, async (tx) => {
      for (let i = 0; i < auditEvents; i++) {
        await container.auth.audit.record(tx, tenantId, {
          action: 'bench.event',
          actor: { type: 'user', id: signed.user.id },
          target: { type: 'api_key', id: `key_${String(i).padStart(26, '0')}` },
          ip: '192.0.2.1',
          userAgent: 'bench/1.0',
          details: { n: i, note: 'a realistic handful of detail fields', scopes: ['read', 'write'] },
        });
      }
    });
    return { tenantId, apiKey: key };
  } finally {
    await container.close();
  }
}

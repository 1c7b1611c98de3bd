import type { Clock, Logger } from '@mailwarden/core';
import { createSecretBox } from '@mailwarden/core';
import type { Database } from '@mailwarden/db';
import type { Redis } from 'ioredis';
import { createLoginService, MFA_TOKEN_TTL_SECONDS } from './accounts/login.service.ts';
import { createPasswordService } from './accounts/password.service.ts';
import { createReauthenticator } from './accounts/reauthenticate.ts';
import { createResetTokensRepository } from './accounts/reset-tokens.repository.ts';
import { createSignUpService } from './accounts/signup.service.ts';
import { createUsersRepository } from './accounts/users.repository.ts';
import { createApiKeysRepository } from './api-keys/api-keys.repository.ts';
import { createApiKeysService } from './api-keys/api-keys.service.ts';
import { createAuditRepository } from './audit/audit.repository.ts';
import { createAuditService } from './audit/audit.service.ts';
import { createKeyRing } from './jwt/key-ring.ts';
import { createSigningKeysRepository } from './jwt/signing-keys.repository.ts';
import { createTokenService } from './jwt/token-service.ts';
import type { Mailer } from './mailer/mailer.ts';
import { createInvitationsRepository } from './members/invitations.repository.ts';
import { createInvitationsService } from './members/invitations.service.ts';
import { createMembersRepository } from './members/members.repository.ts';
import { createMembersService } from './members/members.service.ts';
import { createPasswordHasher, type PasswordHasher } from './passwords/password-hasher.ts';
import { type CachedApiKey, createAuthenticator } from './principal/authenticator.ts';
import { createAuthCache, createRedisAuthCacheBus } from './sessions/session-cache.ts';
import { createSessionsRepository } from './sessions/sessions.repository.ts';
import { type CachedSession, createSessionsService } from './sessions/sessions.service.ts';
import { createTenantSettingsRepository } from './tenants/tenant-settings.repository.ts';
import { createTenantSettingsService } from './tenants/tenant-settings.service.ts';
import { createAttemptGuard } from './throttle/attempt-guard.ts';
import { createRedisThrottle } from './throttle/throttle.ts';
import { createTotpRepository } from './totp/totp.repository.ts';
import { createTotpService } from './totp/totp.service.ts';

/**
 * The accounts and access-control graph, wired by hand: repositories, then services in the order
 * they depend on each other. An app's container calls this once with plain values from its config.
 */
export interface AuthSettings {
  issuer: string;
  audience: string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  keyRotationIntervalSeconds: number;
  keyPublishLeadSeconds: number;
  /** The key set signing keys belong to; `access` outside tests. */
  keyset: string;
  encryptionKey: Uint8Array;
  previousEncryptionKeys: Uint8Array[];
  passwordHash: { memoryKib: number; timeCost: number; concurrency: number; queueLimit: number };
  cacheTtlMs: number;
  redisKeyPrefix: string;
}

export function createAuthServices(deps: {
  db: Database;
  redis: Redis;
  clock: Clock;
  logger: Logger;
  mailer: Mailer;
  settings: AuthSettings;
  /** A hasher of the caller's making (instrumented, or shared); by default one from the settings. */
  passwordHasher?: PasswordHasher;
}) {
  const { db, clock, settings, mailer } = deps;
  const logger = deps.logger.child({ component: 'auth' });

  const usersRepository = createUsersRepository(db);
  const sessionsRepository = createSessionsRepository(db);
  const apiKeysRepository = createApiKeysRepository(db);
  const membersRepository = createMembersRepository(db);
  const tenantSettingsRepository = createTenantSettingsRepository(db);

  const secretBox = createSecretBox(settings.encryptionKey, settings.previousEncryptionKeys);
  const passwordHasher = deps.passwordHasher ?? createPasswordHasher(settings.passwordHash);
  const throttle = createRedisThrottle(deps.redis, settings.redisKeyPrefix, clock);
  const attemptGuard = createAttemptGuard(throttle);
  const keyRing = createKeyRing({
    repository: createSigningKeysRepository(db, settings.keyset),
    secretBox,
    clock,
    accessTtlSeconds: settings.accessTtlSeconds,
    rotationIntervalSeconds: settings.keyRotationIntervalSeconds,
    publishLeadSeconds: settings.keyPublishLeadSeconds,
    logger,
  });
  const tokenService = createTokenService({
    keyRing,
    clock,
    issuer: settings.issuer,
    audience: settings.audience,
    accessTtlSeconds: settings.accessTtlSeconds,
    mfaTtlSeconds: MFA_TOKEN_TTL_SECONDS,
  });
  // Revocations reach every API instance over this channel (sessions/session-cache.ts).
  const cacheBus = createRedisAuthCacheBus({
    redis: deps.redis,
    channel: `${settings.redisKeyPrefix}:auth-cache`,
    logger,
  });
  const sessionCache = createAuthCache<CachedSession>(clock, settings.cacheTtlMs, {
    name: 'session',
    bus: cacheBus,
  });
  const apiKeyCache = createAuthCache<CachedApiKey>(clock, settings.cacheTtlMs, {
    name: 'api-key',
    bus: cacheBus,
  });

  const audit = createAuditService({ db, clock, auditRepository: createAuditRepository(db) });
  const sessions = createSessionsService({
    db,
    clock,
    sessionsRepository,
    tokenService,
    auditService: audit,
    sessionCache,
    refreshTtlSeconds: settings.refreshTtlSeconds,
  });
  const reauthenticate = createReauthenticator({
    db,
    usersRepository,
    passwordHasher,
    attemptGuard,
    auditService: audit,
  });
  const totp = createTotpService({
    db,
    clock,
    secretBox,
    totpRepository: createTotpRepository(db),
    usersRepository,
    auditService: audit,
    sessionsService: sessions,
    attemptGuard,
    reauthenticate,
  });
  const passwords = createPasswordService({
    db,
    clock,
    usersRepository,
    resetTokensRepository: createResetTokensRepository(db),
    passwordHasher,
    auditService: audit,
    sessionsService: sessions,
    attemptGuard,
    reauthenticate,
    mailer,
    logger,
  });

  return {
    keyRing,
    passwordHasher,
    authenticator: createAuthenticator({
      db,
      clock,
      tokenService,
      sessionsRepository,
      apiKeysRepository,
      sessionCache,
      apiKeyCache,
      logger,
    }),
    audit,
    sessions,
    totp,
    passwords,
    signUp: createSignUpService({
      db,
      clock,
      usersRepository,
      membersRepository,
      tenantSettingsRepository,
      passwordHasher,
      attemptGuard,
      auditService: audit,
      sessionsService: sessions,
    }),
    login: createLoginService({
      db,
      clock,
      usersRepository,
      passwordHasher,
      attemptGuard,
      throttle,
      tokenService,
      totpService: totp,
      sessionsService: sessions,
      auditService: audit,
      logger,
    }),
    tenantSettings: createTenantSettingsService({
      db,
      tenantSettingsRepository,
      auditService: audit,
      sessionCache,
    }),
    members: createMembersService({
      db,
      membersRepository,
      auditService: audit,
      sessionsService: sessions,
      sessionCache,
    }),
    invitations: createInvitationsService({
      db,
      clock,
      invitationsRepository: createInvitationsRepository(db),
      membersRepository,
      usersRepository,
      tenantSettingsRepository,
      passwordHasher,
      attemptGuard,
      auditService: audit,
      mailer,
    }),
    apiKeys: createApiKeysService({ db, clock, apiKeysRepository, auditService: audit, apiKeyCache }),
    close() {
      keyRing.stop();
      cacheBus.close();
    },
  };
}

export type AuthServices = ReturnType<typeof createAuthServices>;

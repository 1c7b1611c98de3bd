import { AppError, type Clock, encodeId, uuidv7 } from '@mailwarden/core';
import { type Database, withTenant } from '@mailwarden/db';
import type { AuditService } from '../audit/audit.service.ts';
import type { MembersRepository } from '../members/members.repository.ts';
import type { PasswordHasher } from '../passwords/password-hasher.ts';
import { baselinePolicy, passwordProblems } from '../passwords/password-rules.ts';
import { userActor } from '../principal/principal.ts';
import type { SessionsService } from '../sessions/sessions.service.ts';
import { isUniqueViolation, normalizeEmail, type RequestMeta } from '../shared.ts';
import type { TenantSettingsRepository } from '../tenants/tenant-settings.repository.ts';
import type { AttemptGuard } from '../throttle/attempt-guard.ts';
import { policyProblemsError } from './password.service.ts';
import type { UsersRepository } from './users.repository.ts';

/**
 * Sign-up creates a tenant, its first user and that user's owner membership in one transaction,
 * and signs the new owner in. An address that already has an account is refused (409): sign-up
 * therefore tells whether an address is registered, which is why it is capped per IP and per
 * address (docs/decisions/0003 weighs this against a confirm-by-mail flow).
 */
export interface SignUpInput {
  email: string;
  password: string;
  displayName?: string;
  tenantName: string;
}

export function createSignUpService(deps: {
  db: Database;
  clock: Clock;
  usersRepository: UsersRepository;
  membersRepository: Pick<MembersRepository, 'insert'>;
  tenantSettingsRepository: Pick<TenantSettingsRepository, 'insertTenant' | 'upsert'>;
  passwordHasher: Pick<PasswordHasher, 'hash'>;
  attemptGuard: Pick<AttemptGuard, 'capped'>;
  auditService: Pick<AuditService, 'record'>;
  sessionsService: Pick<SessionsService, 'start'>;
}) {
  const { db, clock } = deps;
  const taken = () =>
    new AppError('email_taken', {
      detail: 'an account with this e-mail address exists; sign in or reset the password',
    });
  return {
    async signUp(input: SignUpInput, meta: RequestMeta) {
      const email = normalizeEmail(input.email);
      await deps.attemptGuard.capped('signUp', email, meta.ip);
      const problems = passwordProblems(input.password, baselinePolicy, {
        userInputs: [email, input.displayName ?? '', input.tenantName],
      });
      if (problems.length > 0) throw policyProblemsError(problems);
      if (await deps.usersRepository.findByEmail(email)) throw taken();
      const passwordHash = await deps.passwordHasher.hash(input.password);
      const now = clock.now().getTime();
      const userId = uuidv7(now);
      const tenantId = uuidv7(now);
      try {
        const tokens = await withTenant(db, tenantId, async (tx) => {
          await deps.tenantSettingsRepository.insertTenant(tx, { id: tenantId, name: input.tenantName });
          await deps.usersRepository.insert(tx, {
            id: userId,
            email,
            displayName: input.displayName ?? null,
            passwordHash,
          });
          await deps.tenantSettingsRepository.upsert(tx, tenantId, {});
          await deps.membersRepository.insert(tx, { id: uuidv7(now), tenantId, userId, role: 'owner' });
          await deps.auditService.record(tx, tenantId, {
            action: 'tenant.created',
            actor: userActor(userId),
            target: { type: 'tenant', id: encodeId('ten', tenantId) },
            ip: meta.ip,
            userAgent: meta.userAgent,
            details: { name: input.tenantName },
          });
          return deps.sessionsService.start(tx, {
            userId,
            tenantId,
            role: 'owner',
            mfaVerified: false,
            passwordChangeRequired: false,
            meta,
          });
        });
        return {
          user: { id: encodeId('usr', userId), email, displayName: input.displayName ?? null },
          tenant: { id: encodeId('ten', tenantId), name: input.tenantName, role: 'owner' as const },
          tokens,
        };
      } catch (err) {
        // Two sign-ups racing for one address: the unique index decides, the loser hears 409.
        if (isUniqueViolation(err)) throw taken();
        throw err;
      }
    },
  };
}

export type SignUpService = ReturnType<typeof createSignUpService>;

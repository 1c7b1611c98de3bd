import { AppError } from '@mailwarden/core';
import type { Database } from '@mailwarden/db';
import type { AuditService } from '../audit/audit.service.ts';
import type { PasswordHasher } from '../passwords/password-hasher.ts';
import { type Principal, requireUser, userActor } from '../principal/principal.ts';
import { normalizeEmail, type RequestMeta } from '../shared.ts';
import type { AttemptGuard } from '../throttle/attempt-guard.ts';
import type { UsersRepository } from './users.repository.ts';

/**
 * The password asked again before a sensitive change of a signed-in user (changing the password,
 * switching 2FA off). Whoever holds a stolen session could otherwise use these as an unmetered
 * password oracle, so each check passes the sign-in attempt guard of the account — a wrong password
 * here is a failed sign-in (the same backoff, per IP and per account) — and a failure is audited in
 * the session's tenant.
 */
export function createReauthenticator(deps: {
  db: Database;
  usersRepository: Pick<UsersRepository, 'findById'>;
  passwordHasher: Pick<PasswordHasher, 'verify'>;
  attemptGuard: Pick<AttemptGuard, 'admit' | 'failed' | 'succeeded'>;
  auditService: Pick<AuditService, 'recordInTenants'>;
}) {
  return async (
    principal: Principal,
    password: string,
    purpose: 'password_change' | 'mfa_disable',
    meta: RequestMeta,
    detail: string,
  ) => {
    const user = requireUser(principal);
    const account = await deps.usersRepository.findById(deps.db, user.userId);
    if (!account?.passwordHash) throw new AppError('invalid_credentials', { detail });
    const subject = normalizeEmail(account.email);
    await deps.attemptGuard.admit('login', subject, meta.ip);
    if (!(await deps.passwordHasher.verify(account.passwordHash, password))) {
      await deps.attemptGuard.failed('login', subject, meta.ip);
      await deps.auditService.recordInTenants([user.tenantId], {
        action: 'auth.reauthentication_failed',
        actor: userActor(user.userId),
        ip: meta.ip,
        userAgent: meta.userAgent,
        details: { purpose },
      });
      throw new AppError('invalid_credentials', { detail });
    }
    await deps.attemptGuard.succeeded('login', subject, meta.ip);
    return { ...account, passwordHash: account.passwordHash };
  };
}

export type Reauthenticator = ReturnType<typeof createReauthenticator>;

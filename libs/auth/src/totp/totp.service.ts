import type { SecretBox } from '@mailwarden/core';
import { AppError, type Clock, uuidv7 } from '@mailwarden/core';
import type { Database } from '@mailwarden/db';
import type { Reauthenticator } from '../accounts/reauthenticate.ts';
import { readUserDirectory } from '../accounts/user-directory.ts';
import type { UsersRepository } from '../accounts/users.repository.ts';
import type { AuditService } from '../audit/audit.service.ts';
import { assertCan } from '../principal/permissions.ts';
import { type Principal, requireUser, userActor } from '../principal/principal.ts';
import type { SessionsService } from '../sessions/sessions.service.ts';
import type { RequestMeta } from '../shared.ts';
import type { AttemptGuard } from '../throttle/attempt-guard.ts';
import { hashRecoveryCode, newRecoveryCode, RECOVERY_CODE_COUNT } from './recovery-codes.ts';
import type { TotpRepository } from './totp.repository.ts';
import { checkTotp, newTotpSecret, totpQrDataUrl, totpUri } from './totp.ts';

/**
 * Two-factor authentication with an authenticator app. Enrolment stores a sealed seed and waits
 * for a first code; confirming it switches 2FA on, lifts an "enrol first" restriction on the
 * session, and hands out ten recovery codes, once.
 */
export interface TotpServiceDeps {
  db: Database;
  clock: Clock;
  secretBox: SecretBox;
  totpRepository: TotpRepository;
  usersRepository: Pick<UsersRepository, 'findById'>;
  auditService: Pick<AuditService, 'recordInTenants'>;
  sessionsService: Pick<SessionsService, 'setFlags'>;
  /** Codes checked for a signed-in user (confirming enrolment, new recovery codes) are metered too. */
  attemptGuard: Pick<AttemptGuard, 'admit' | 'failed' | 'succeeded'>;
  reauthenticate: Reauthenticator;
}

const context = (userId: string) => `totp:${userId}`;

export function createTotpService(deps: TotpServiceDeps) {
  const { db, clock, secretBox, totpRepository: repo } = deps;

  const freshRecoveryCodes = async (userId: string) => {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    // Old codes out and new codes in together: never a moment with both, or with neither.
    await db.transaction((tx) =>
      repo.replaceRecoveryCodes(
        tx,
        userId,
        codes.map((code) => ({ id: uuidv7(), codeHash: hashRecoveryCode(code)! })),
      ),
    );
    return codes;
  };

  const auditEverywhere = async (
    userId: string,
    action: string,
    meta: RequestMeta,
    details?: Record<string, unknown>,
  ) => {
    const tenants = (await readUserDirectory(db, userId)).map((e) => e.tenantId);
    await deps.auditService.recordInTenants(tenants, {
      action,
      actor: userActor(userId),
      target: { type: 'user', id: userActor(userId).id! },
      ip: meta.ip,
      userAgent: meta.userAgent,
      details,
    });
  };

  /** Checks a code and claims its time step; `confirm` for the first code of an enrolment. */
  const verifyCode = async (userId: string, code: string, confirm: boolean) => {
    const row = await repo.find(db, userId);
    if (!row || (confirm ? row.confirmedAt !== null : row.confirmedAt === null)) {
      throw new AppError(confirm ? 'conflict' : 'totp_invalid', {
        detail: confirm
          ? 'there is no enrolment waiting for confirmation'
          : 'two-factor authentication is not on',
      });
    }
    const secret = secretBox.open(row.secretCiphertext, context(userId)).toString('utf8');
    const check = await checkTotp(secret, code, clock.now());
    if (!check.valid)
      throw new AppError('totp_invalid', { detail: 'the code does not match the current time window' });
    const replayed = row.lastUsedStep !== null && check.timeStep <= row.lastUsedStep;
    if (replayed || !(await repo.claimStep(db, userId, check.timeStep, confirm, clock.now()))) {
      throw new AppError('totp_replayed', { detail: 'this code was already used' });
    }
    if (secretBox.needsReseal(row.secretCiphertext)) {
      await repo.reseal(db, userId, secretBox.seal(secret, context(userId)));
    }
  };

  /**
   * A 6-digit code guessed through a stolen session is a second-factor guess like any other: the
   * same per-IP window and per-account backoff as the second sign-in step.
   */
  const guardedCode = async (userId: string, code: string, confirm: boolean, meta: RequestMeta) => {
    await deps.attemptGuard.admit('secondFactor', userId, meta.ip);
    try {
      await verifyCode(userId, code, confirm);
    } catch (err) {
      if (err instanceof AppError && (err.code === 'totp_invalid' || err.code === 'totp_replayed'))
        await deps.attemptGuard.failed('secondFactor', userId, meta.ip);
      throw err;
    }
    await deps.attemptGuard.succeeded('secondFactor', userId, meta.ip);
  };

  return {
    async status(principal: Principal) {
      assertCan(principal, 'account.self');
      const user = requireUser(principal);
      const row = await repo.find(db, user.userId);
      return {
        enabled: Boolean(row?.confirmedAt),
        enrolmentPending: Boolean(row && !row.confirmedAt),
        recoveryCodesRemaining: row?.confirmedAt ? await repo.unusedRecoveryCodes(db, user.userId) : 0,
      };
    },

    async startEnrolment(principal: Principal) {
      assertCan(principal, 'account.self');
      const user = requireUser(principal);
      const existing = await repo.find(db, user.userId);
      if (existing?.confirmedAt)
        throw new AppError('conflict', { detail: 'two-factor authentication is already on' });
      const account = await deps.usersRepository.findById(db, user.userId);
      const secret = newTotpSecret();
      await repo.savePending(db, user.userId, secretBox.seal(secret, context(user.userId)));
      const otpauthUri = totpUri(secret, account?.email ?? user.actorId);
      return { secret, otpauthUri, qrCodeDataUrl: await totpQrDataUrl(otpauthUri) };
    },

    async confirmEnrolment(principal: Principal, code: string, meta: RequestMeta) {
      assertCan(principal, 'account.self');
      const user = requireUser(principal);
      await guardedCode(user.userId, code, true, meta);
      const recoveryCodes = await freshRecoveryCodes(user.userId);
      await deps.sessionsService.setFlags(user.tenantId, user.sessionId, { mfaVerified: true });
      await auditEverywhere(user.userId, 'mfa.enabled', meta);
      return { recoveryCodes };
    },

    /** Needs the password again: a stolen session alone must not be able to switch 2FA off. */
    async disable(principal: Principal, password: string, meta: RequestMeta) {
      assertCan(principal, 'account.self');
      const user = requireUser(principal);
      await deps.reauthenticate(principal, password, 'mfa_disable', meta, 'the password is not right');
      const requiring = (await readUserDirectory(db, user.userId)).filter((e) => e.requireMfa);
      if (requiring.length > 0) {
        throw new AppError('conflict', {
          detail: `tenant ${JSON.stringify(requiring[0]!.tenantName)} requires two-factor authentication of its members`,
        });
      }
      const row = await repo.find(db, user.userId);
      if (!row?.confirmedAt)
        throw new AppError('conflict', { detail: 'two-factor authentication is not on' });
      await repo.remove(db, user.userId);
      await auditEverywhere(user.userId, 'mfa.disabled', meta);
    },

    async regenerateRecoveryCodes(principal: Principal, code: string, meta: RequestMeta) {
      assertCan(principal, 'account.self');
      const user = requireUser(principal);
      await guardedCode(user.userId, code, false, meta);
      const recoveryCodes = await freshRecoveryCodes(user.userId);
      await auditEverywhere(user.userId, 'mfa.recovery_codes_regenerated', meta);
      return { recoveryCodes };
    },

    async isEnabled(userId: string): Promise<boolean> {
      return Boolean((await repo.find(db, userId))?.confirmedAt);
    },

    /** The second step of a sign-in. Throws totp_invalid or totp_replayed. */
    verifyLoginCode(userId: string, code: string) {
      return verifyCode(userId, code, false);
    },

    async consumeRecoveryCode(userId: string, code: string, meta: RequestMeta) {
      const hash = hashRecoveryCode(code);
      const row = await repo.find(db, userId);
      if (!hash || !row?.confirmedAt || !(await repo.consumeRecoveryCode(db, userId, hash, clock.now()))) {
        throw new AppError('recovery_code_invalid', {
          detail: 'the recovery code is not right or was already used',
        });
      }
      await auditEverywhere(userId, 'mfa.recovery_code_used', meta, {
        remaining: await repo.unusedRecoveryCodes(db, userId),
      });
    },
  };
}

export type TotpService = ReturnType<typeof createTotpService>;

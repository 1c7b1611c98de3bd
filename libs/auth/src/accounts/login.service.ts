import { AppError, type Clock, decodeId, encodeId, type Logger, notFound } from '@mailwarden/core';
import { type Database, withTenant } from '@mailwarden/db';
import type { AuditService } from '../audit/audit.service.ts';
import type { TokenService } from '../jwt/token-service.ts';
import type { PasswordHasher } from '../passwords/password-hasher.ts';
import { strictestPolicy } from '../passwords/password-rules.ts';
import { type Principal, requireUser, userActor } from '../principal/principal.ts';
import type { SessionsService, TokenPair } from '../sessions/sessions.service.ts';
import { normalizeEmail, type RequestMeta, SECONDS_PER_DAY } from '../shared.ts';
import type { AttemptGuard } from '../throttle/attempt-guard.ts';
import { type Throttle, throttleSubject } from '../throttle/throttle.ts';
import type { TotpService } from '../totp/totp.service.ts';
import { type DirectoryEntry, readUserDirectory } from './user-directory.ts';
import type { UsersRepository } from './users.repository.ts';

/**
 * Sign-in: e-mail and password, then — for a user with 2FA — a TOTP or recovery code presented
 * with the short mfa-pending token the first step returned. Unknown addresses cost the same
 * argon2 work and get the same answer as a wrong password. Every attempt passes the attempt guard
 * (per-IP window, per-account backoff) before any password is checked.
 */
export type LoginResult =
  | { status: 'mfa_required'; mfaToken: string; expiresIn: number }
  | ({ status: 'authenticated' } & SignedIn);

export interface SignedIn {
  tokens: TokenPair;
  tenant: { id: string; name: string; role: string };
  tenants: { id: string; name: string; role: string }[];
  /** What the session must do before anything else, if anything. */
  restriction: 'mfa_enrolment' | 'password_change' | null;
}

export const MFA_TOKEN_TTL_SECONDS = 300;

export interface LoginServiceDeps {
  db: Database;
  clock: Clock;
  usersRepository: Pick<UsersRepository, 'findByEmail' | 'findById' | 'setPasswordHash'>;
  passwordHasher: Pick<PasswordHasher, 'verify' | 'verifyDummy' | 'needsRehash' | 'hash'>;
  attemptGuard: AttemptGuard;
  throttle: Pick<Throttle, 'claimOnce'>;
  tokenService: Pick<TokenService, 'signMfaPending' | 'verifyMfaPending'>;
  totpService: Pick<TotpService, 'isEnabled' | 'verifyLoginCode' | 'consumeRecoveryCode'>;
  sessionsService: Pick<SessionsService, 'start'>;
  auditService: Pick<AuditService, 'record' | 'recordInTenants'>;
  /** Where failed sign-ins of unknown addresses go: they have no tenant, so no audit log. */
  logger?: Pick<Logger, 'warn'>;
}

const wrongCredentials = () =>
  new AppError('invalid_credentials', { detail: 'the e-mail address or the password is not right' });

/** The tenant asked for (a typed id), or the one the user joined first. */
function pickTenant(directory: DirectoryEntry[], tenantTypedId: string | undefined): DirectoryEntry {
  if (directory.length === 0)
    throw new AppError('forbidden', { detail: 'this account belongs to no tenant any more' });
  if (tenantTypedId === undefined) return directory[0]!;
  const tenantId = decodeId('ten', tenantTypedId);
  const entry = tenantId ? directory.find((e) => e.tenantId === tenantId) : undefined;
  if (!entry) throw notFound('tenant', tenantTypedId);
  return entry;
}

/** Read for unknown addresses too, so both paths make the same round trips. */
const NOBODY = '00000000-0000-0000-0000-000000000000';

export function createLoginService(deps: LoginServiceDeps) {
  const { db, clock, attemptGuard: guard } = deps;

  const finish = async (
    userId: string,
    passwordChangedAt: Date | null,
    directory: DirectoryEntry[],
    target: DirectoryEntry,
    mfaVerified: boolean,
    method: string,
    meta: RequestMeta,
  ): Promise<SignedIn> => {
    const maxAgeDays = strictestPolicy(directory.map((e) => e.passwordPolicy)).maxAgeDays;
    const expired =
      maxAgeDays > 0 &&
      passwordChangedAt !== null &&
      clock.now().getTime() - passwordChangedAt.getTime() > maxAgeDays * SECONDS_PER_DAY * 1000;
    const tokens = await withTenant(db, target.tenantId, async (tx) => {
      const pair = await deps.sessionsService.start(tx, {
        userId,
        tenantId: target.tenantId,
        role: target.role,
        mfaVerified,
        passwordChangeRequired: expired,
        meta,
      });
      await deps.auditService.record(tx, target.tenantId, {
        action: 'auth.login_succeeded',
        actor: userActor(userId),
        target: { type: 'session', id: pair.sessionId },
        ip: meta.ip,
        userAgent: meta.userAgent,
        details: { method, mfa: mfaVerified, passwordExpired: expired },
      });
      return pair;
    });
    const view = (e: DirectoryEntry) => ({
      id: encodeId('ten', e.tenantId),
      name: e.tenantName,
      role: e.role,
    });
    return {
      tokens,
      tenant: view(target),
      tenants: directory.map(view),
      restriction: expired ? 'password_change' : target.requireMfa && !mfaVerified ? 'mfa_enrolment' : null,
    };
  };

  const auditFailure = async (
    directory: DirectoryEntry[],
    userId: string,
    action: string,
    reason: string,
    meta: RequestMeta,
  ) =>
    deps.auditService.recordInTenants(
      directory.map((e) => e.tenantId),
      { action, actor: userActor(userId), ip: meta.ip, userAgent: meta.userAgent, details: { reason } },
    );

  /** The second step, whichever factor: check it, spend the mfa token, sign in. */
  const secondStep = async (
    mfaToken: string,
    meta: RequestMeta,
    method: string,
    check: (userId: string) => Promise<void>,
  ) => {
    const claims = await deps.tokenService.verifyMfaPending(mfaToken);
    await guard.admit('secondFactor', claims.userId, meta.ip);
    try {
      await check(claims.userId);
    } catch (err) {
      if (err instanceof AppError && err.status < 500) {
        await guard.failed('secondFactor', claims.userId, meta.ip);
        await auditFailure(
          await readUserDirectory(db, claims.userId),
          claims.userId,
          'auth.mfa_failed',
          err.code,
          meta,
        );
      }
      throw err;
    }
    const ttl = Math.ceil((claims.expiresAt.getTime() - clock.now().getTime()) / 1000);
    if (!(await deps.throttle.claimOnce(`mfa-token:${claims.tokenId}`, ttl))) {
      throw new AppError('invalid_token', { detail: 'this sign-in step was already completed; start again' });
    }
    await guard.succeeded('secondFactor', claims.userId, meta.ip);
    const account = await deps.usersRepository.findById(db, claims.userId);
    if (!account) throw wrongCredentials();
    const directory = await readUserDirectory(db, claims.userId);
    const target = pickTenant(directory, claims.tenantId ? encodeId('ten', claims.tenantId) : undefined);
    return finish(account.id, account.passwordChangedAt, directory, target, true, method, meta);
  };

  return {
    async login(
      input: { email: string; password: string; tenantId?: string },
      meta: RequestMeta,
    ): Promise<LoginResult> {
      const email = normalizeEmail(input.email);
      await guard.admit('login', email, meta.ip);
      const account = await deps.usersRepository.findByEmail(email);
      if (!account?.passwordHash) {
        await deps.passwordHasher.verifyDummy(input.password);
        await readUserDirectory(db, NOBODY);
        await guard.failed('login', email, meta.ip);
        // The address is hashed like the throttle keys: a typo'd address (or a password typed in
        // the address field) is personal data the log need not hold. Same event name as the audit.
        deps.logger?.warn(
          {
            event: 'auth.login_failed',
            reason: 'unknown_account',
            account: throttleSubject(email),
            ip: meta.ip,
            userAgent: meta.userAgent?.slice(0, 300) ?? null,
          },
          'sign-in failed for an unknown address',
        );
        throw wrongCredentials();
      }
      const valid = await deps.passwordHasher.verify(account.passwordHash, input.password);
      const directory = await readUserDirectory(db, account.id);
      if (!valid) {
        await guard.failed('login', email, meta.ip);
        await auditFailure(directory, account.id, 'auth.login_failed', 'wrong_password', meta);
        throw wrongCredentials();
      }
      await guard.succeeded('login', email, meta.ip);
      if (deps.passwordHasher.needsRehash(account.passwordHash)) {
        // Parameters were raised since this hash was made; the plaintext is at hand only now.
        await deps.usersRepository.setPasswordHash(
          db,
          account.id,
          await deps.passwordHasher.hash(input.password),
        );
      }
      const target = pickTenant(directory, input.tenantId);
      if (await deps.totpService.isEnabled(account.id)) {
        const mfaToken = await deps.tokenService.signMfaPending({
          userId: account.id,
          tenantId: target.tenantId,
        });
        return { status: 'mfa_required', mfaToken, expiresIn: MFA_TOKEN_TTL_SECONDS };
      }
      return {
        status: 'authenticated',
        ...(await finish(account.id, account.passwordChangedAt, directory, target, false, 'password', meta)),
      };
    },

    async completeWithTotp(input: { mfaToken: string; code: string }, meta: RequestMeta) {
      return secondStep(input.mfaToken, meta, 'totp', (userId) =>
        deps.totpService.verifyLoginCode(userId, input.code),
      );
    },

    async completeWithRecoveryCode(input: { mfaToken: string; recoveryCode: string }, meta: RequestMeta) {
      return secondStep(input.mfaToken, meta, 'recovery_code', (userId) =>
        deps.totpService.consumeRecoveryCode(userId, input.recoveryCode, meta),
      );
    },

    /** Who the caller is: the user, the tenant of this session, and every tenant they may switch to. */
    async whoAmI(principal: Principal) {
      const user = requireUser(principal);
      const account = await deps.usersRepository.findById(db, user.userId);
      if (!account) throw new AppError('session_revoked', { detail: 'the account no longer exists' });
      const directory = await readUserDirectory(db, user.userId);
      const view = (e: DirectoryEntry) => ({
        id: encodeId('ten', e.tenantId),
        name: e.tenantName,
        role: e.role,
      });
      const current = directory.find((e) => e.tenantId === user.tenantId);
      if (!current)
        throw new AppError('session_revoked', { detail: 'you are no longer a member of this tenant' });
      return {
        user: {
          id: encodeId('usr', account.id),
          email: account.email,
          displayName: account.displayName,
          mfaEnabled: await deps.totpService.isEnabled(account.id),
        },
        tenant: view(current),
        tenants: directory.map(view),
        restriction: principal.restriction,
      };
    },

    /** A new session in another tenant of the same user; the second factor carries over. */
    async switchTenant(principal: Principal, tenantTypedId: string, meta: RequestMeta): Promise<SignedIn> {
      const user = requireUser(principal);
      const directory = await readUserDirectory(db, user.userId);
      const target = pickTenant(directory, tenantTypedId);
      const account = await deps.usersRepository.findById(db, user.userId);
      return finish(
        user.userId,
        account?.passwordChangedAt ?? null,
        directory,
        target,
        principal.mfaVerified,
        'tenant_switch',
        meta,
      );
    },
  };
}

export type LoginService = ReturnType<typeof createLoginService>;

import { AppError, type Clock, type FieldProblem, type Logger, uuidv7 } from '@mailwarden/core';
import { type Database, type Tx, withTenant } from '@mailwarden/db';
import { sql } from 'drizzle-orm';
import type { AuditService } from '../audit/audit.service.ts';
import { hexDigestsEqual, issueToken, parseToken, sha256Hex } from '../crypto/tokens.ts';
import type { Mailer, MailMessage } from '../mailer/mailer.ts';
import type { PasswordHasher } from '../passwords/password-hasher.ts';
import { type PasswordPolicy, passwordProblems, strictestPolicy } from '../passwords/password-rules.ts';
import { assertCan } from '../principal/permissions.ts';
import { type Principal, requireUser, userActor } from '../principal/principal.ts';
import type { SessionsService } from '../sessions/sessions.service.ts';
import { normalizeEmail, type RequestMeta } from '../shared.ts';
import type { AttemptGuard } from '../throttle/attempt-guard.ts';
import { throttleSubject } from '../throttle/throttle.ts';
import type { Reauthenticator } from './reauthenticate.ts';
import type { ResetTokensRepository } from './reset-tokens.repository.ts';
import { type DirectoryEntry, readUserDirectory } from './user-directory.ts';
import type { UsersRepository } from './users.repository.ts';

/**
 * Setting a password: checked against the NIST baseline and the strictest policy of the user's
 * tenants (one password serves them all), refused when it repeats one of the last N, hashed, and
 * followed by the end of the user's other sessions. Changing needs the current password; a reset
 * needs a single-use token from the mailbox.
 */
export const RESET_TOKEN_TTL_SECONDS = 30 * 60;
/** The longest history any policy may ask for (tenant_settings_history check). */
const HISTORY_KEEP = 24;

export interface PasswordServiceDeps {
  db: Database;
  clock: Clock;
  usersRepository: UsersRepository;
  resetTokensRepository: ResetTokensRepository;
  passwordHasher: Pick<PasswordHasher, 'hash' | 'verify'>;
  auditService: Pick<AuditService, 'recordInTenants'>;
  sessionsService: Pick<SessionsService, 'revokeAllInTenant' | 'setFlags' | 'forgetUser'>;
  attemptGuard: Pick<AttemptGuard, 'capped'>;
  reauthenticate: Reauthenticator;
  mailer: Mailer;
  logger?: Pick<Logger, 'info' | 'warn'>;
}

export function policyProblemsError(problems: FieldProblem[]): AppError {
  return new AppError('password_policy', {
    detail: problems.map((p) => `${p.location} ${p.message}`).join('; '),
    errors: problems,
  });
}

export function createPasswordService(deps: PasswordServiceDeps) {
  const { db, clock, usersRepository: users, passwordHasher: hasher } = deps;

  /**
   * Mail leaves off the response path: an SMTP round trip only for known addresses would tell
   * them apart by timing, and a mail outage must not fail a change that is already committed.
   */
  const sendLater = (message: MailMessage) => {
    deps.mailer
      .send(message)
      .catch((err: unknown) => deps.logger?.warn({ err, kind: message.kind }, 'mail not sent'));
  };

  /** Everything that can refuse a new password, before anything is written. Returns its hash. */
  const vetNewPassword = async (
    account: { id: string; email: string; displayName: string | null; passwordHash: string | null },
    directory: DirectoryEntry[],
    password: string,
    location: string,
  ) => {
    const policy: PasswordPolicy = strictestPolicy(directory.map((e) => e.passwordPolicy));
    const userInputs = [account.email, account.displayName ?? '', ...directory.map((e) => e.tenantName)];
    const problems = passwordProblems(password, policy, { userInputs }, location);
    if (problems.length > 0) throw policyProblemsError(problems);
    if (policy.historyCount > 0) {
      const earlier = [
        ...(account.passwordHash ? [account.passwordHash] : []),
        ...(await users.recentPasswordHashes(db, account.id, policy.historyCount - 1)).map(
          (h) => h.passwordHash,
        ),
      ];
      for (const phc of earlier) {
        if (await hasher.verify(phc, password)) {
          throw policyProblemsError([
            {
              location,
              message: `must differ from your last ${policy.historyCount} passwords (tenant policy)`,
            },
          ]);
        }
      }
    }
    return hasher.hash(password);
  };

  const store = async (userId: string, oldHash: string | null, newHash: string) => {
    await db.transaction(async (tx) => {
      await users.setPasswordHash(tx, userId, newHash, clock.now());
      if (oldHash)
        await users.addPasswordHistory(tx, { id: uuidv7(), userId, passwordHash: oldHash }, HISTORY_KEEP);
    });
  };

  const afterChange = async (
    userId: string,
    email: string,
    directory: DirectoryEntry[],
    keepSession: { tenantId: string; sessionId: string } | null,
    action: string,
    meta: RequestMeta,
  ) => {
    for (const entry of directory) {
      await withTenant(db, entry.tenantId, (tx) =>
        deps.sessionsService.revokeAllInTenant(
          tx,
          entry.tenantId,
          userId,
          action,
          keepSession?.tenantId === entry.tenantId ? keepSession.sessionId : undefined,
        ),
      );
    }
    deps.sessionsService.forgetUser(userId);
    if (keepSession)
      await deps.sessionsService.setFlags(keepSession.tenantId, keepSession.sessionId, {
        passwordChangeRequired: false,
      });
    await deps.auditService.recordInTenants(
      directory.map((e) => e.tenantId),
      { action, actor: userActor(userId), ip: meta.ip, userAgent: meta.userAgent },
    );
    sendLater({
      kind: 'password_changed',
      to: email,
      subject: 'Your Mailwarden password was changed',
      text: `The password of your Mailwarden account was changed from ${meta.ip}. If this was not you, reset it now and tell your administrator.`,
    });
  };

  return {
    vetNewPassword,

    async change(
      principal: Principal,
      input: { currentPassword: string; newPassword: string },
      meta: RequestMeta,
    ) {
      assertCan(principal, 'account.self');
      const user = requireUser(principal);
      const account = await deps.reauthenticate(
        principal,
        input.currentPassword,
        'password_change',
        meta,
        'the current password is not right',
      );
      const directory = await readUserDirectory(db, user.userId);
      const hash = await vetNewPassword(account, directory, input.newPassword, 'body.newPassword');
      await store(user.userId, account.passwordHash, hash);
      await afterChange(
        user.userId,
        account.email,
        directory,
        { tenantId: user.tenantId, sessionId: user.sessionId },
        'auth.password_changed',
        meta,
      );
    },

    /** Always answers the same, whether or not the address has an account (no enumeration). */
    async requestReset(emailInput: string, meta: RequestMeta) {
      const email = normalizeEmail(emailInput);
      await deps.attemptGuard.capped('passwordReset', email, meta.ip);
      const account = await users.findByEmail(email);
      const id = uuidv7(clock.now().getTime());
      const { token, hash } = issueToken('mwp', [id]);
      // Both paths run the same statements in the same shape: one transaction that does not wait
      // for its WAL flush (a reset token lost in a crash is asked for again; the flush is what
      // made a write measurably slower than a read), holding one statement on the tokens table.
      // The mail goes out after the answer either way. So timing tells nothing about the address.
      const quickly = <T>(work: (tx: Tx) => Promise<T>) =>
        db.transaction(async (tx) => {
          await tx.execute(sql`SET LOCAL synchronous_commit TO OFF`);
          return work(tx);
        });
      if (!account) {
        await quickly((tx) => deps.resetTokensRepository.find(tx, id));
        // Not in any tenant's audit log: there is no tenant. The app log keeps it, with the
        // address hashed as in the throttle keys (docs/decisions/0003 §6).
        deps.logger?.info(
          { event: 'auth.password_reset_unknown_account', account: throttleSubject(email), ip: meta.ip },
          'password reset requested for an unknown address',
        );
        return;
      }
      await quickly((tx) =>
        deps.resetTokensRepository.insert(tx, {
          id,
          userId: account.id,
          tokenHash: hash,
          expiresAt: new Date(clock.now().getTime() + RESET_TOKEN_TTL_SECONDS * 1000),
        }),
      );
      sendLater({
        kind: 'password_reset',
        to: account.email,
        subject: 'Reset your Mailwarden password',
        text: `Someone (${meta.ip}) asked to reset your Mailwarden password. To choose a new one, send this token to POST /v1/auth/password/reset within 30 minutes:\n\n${token}\n\nIf it was not you, ignore this message.`,
      });
    },

    async reset(input: { token: string; newPassword: string }, meta: RequestMeta) {
      const parsed = parseToken('mwp', 1, input.token);
      const invalid = () =>
        new AppError('invalid_token', { detail: 'this reset token is not valid, was used, or has expired' });
      if (!parsed) throw invalid();
      const [tokenId] = parsed.ids as [string];
      const usable = (row: Awaited<ReturnType<ResetTokensRepository['find']>>) =>
        row &&
        !row.usedAt &&
        row.expiresAt > clock.now() &&
        hexDigestsEqual(sha256Hex(parsed.secret), row.tokenHash);
      const row = await deps.resetTokensRepository.find(db, tokenId);
      if (!usable(row)) throw invalid();
      const account = await users.findById(db, row!.userId);
      if (!account) throw invalid();
      const directory = await readUserDirectory(db, account.id);
      const hash = await vetNewPassword(account, directory, input.newPassword, 'body.newPassword');
      // Spend the token in the transaction that sets the password: of two racing resets one wins.
      await db.transaction(async (tx) => {
        const locked = await deps.resetTokensRepository.find(tx, tokenId, true);
        if (!usable(locked)) throw invalid();
        await deps.resetTokensRepository.useAllForUser(tx, account.id, clock.now());
        await users.setPasswordHash(tx, account.id, hash, clock.now());
        if (account.passwordHash)
          await users.addPasswordHistory(
            tx,
            { id: uuidv7(), userId: account.id, passwordHash: account.passwordHash },
            HISTORY_KEEP,
          );
      });
      await afterChange(account.id, account.email, directory, null, 'auth.password_reset', meta);
    },
  };
}

export type PasswordService = ReturnType<typeof createPasswordService>;

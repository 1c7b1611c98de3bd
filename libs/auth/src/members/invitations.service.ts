import { AppError, type Clock, decodeId, encodeId, notFound, uuidv7 } from '@mailwarden/core';
import { type Database, withTenant } from '@mailwarden/db';
import { policyProblemsError } from '../accounts/password.service.ts';
import type { UsersRepository } from '../accounts/users.repository.ts';
import type { AuditService } from '../audit/audit.service.ts';
import { hexDigestsEqual, issueToken, parseToken, sha256Hex } from '../crypto/tokens.ts';
import type { InvitationRow, Role } from '../db-types.ts';
import type { Mailer } from '../mailer/mailer.ts';
import type { PasswordHasher } from '../passwords/password-hasher.ts';
import { passwordProblems } from '../passwords/password-rules.ts';
import { assertCan } from '../principal/permissions.ts';
import { actorOf, type Principal, userActor } from '../principal/principal.ts';
import { isUniqueViolation, normalizeEmail, type RequestMeta } from '../shared.ts';
import type { TenantSettingsRepository } from '../tenants/tenant-settings.repository.ts';
import { settingsView } from '../tenants/tenant-settings.service.ts';
import type { AttemptGuard } from '../throttle/attempt-guard.ts';
import type { InvitationsRepository } from './invitations.repository.ts';
import type { MembersRepository } from './members.repository.ts';

/**
 * Invitations by e-mail. The token (`mwi_` + tenant + invitation id + secret) exists only in the
 * message; it is single-use and expires. Accepting creates the account when the address has none
 * (with a password meeting the tenant's policy), or, for an existing account, asks for its
 * password: the token proves the mailbox, the password proves the person. No session is handed
 * out here, so a second factor is still asked at the next sign-in.
 */
export const INVITATION_TTL_SECONDS = 7 * 24 * 3600;

export interface InvitationView {
  id: string;
  email: string;
  role: Role;
  status: 'pending' | 'accepted' | 'revoked' | 'expired';
  invitedBy: string | null;
  createdAt: string;
  expiresAt: string;
}

export function createInvitationsService(deps: {
  db: Database;
  clock: Clock;
  invitationsRepository: InvitationsRepository;
  membersRepository: Pick<MembersRepository, 'insert' | 'list'>;
  usersRepository: Pick<UsersRepository, 'findByEmail' | 'insert'>;
  tenantSettingsRepository: Pick<TenantSettingsRepository, 'find' | 'findTenant'>;
  passwordHasher: Pick<PasswordHasher, 'hash' | 'verify'>;
  attemptGuard: Pick<AttemptGuard, 'admit' | 'failed' | 'succeeded'>;
  auditService: Pick<AuditService, 'record'>;
  mailer: Mailer;
}) {
  const { db, clock, invitationsRepository: repo } = deps;
  const view = (row: InvitationRow): InvitationView => ({
    id: encodeId('inv', row.id),
    email: row.email,
    role: row.role,
    status: row.acceptedAt
      ? 'accepted'
      : row.revokedAt
        ? 'revoked'
        : row.expiresAt <= clock.now()
          ? 'expired'
          : 'pending',
    invitedBy: row.invitedByUserId ? encodeId('usr', row.invitedByUserId) : null,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
  });
  const invalid = () =>
    new AppError('invalid_token', {
      detail: 'this invitation is not valid, was used, revoked or has expired',
    });

  return {
    async create(principal: Principal, input: { email: string; role: Role }, meta: RequestMeta) {
      assertCan(principal, 'invitations.manage');
      if (input.role === 'owner') assertCan(principal, 'members.manage_owners');
      const email = normalizeEmail(input.email);
      const id = uuidv7(clock.now().getTime());
      const { token, hash } = issueToken('mwi', [principal.tenantId, id]);
      const { row, tenantName } = await withTenant(db, principal.tenantId, async (tx) => {
        const members = await deps.membersRepository.list(tx, principal.tenantId);
        if (members.some((m) => m.email.toLowerCase() === email.toLowerCase())) {
          throw new AppError('conflict', { detail: `${email} is already a member` });
        }
        const created = await repo.insert(tx, {
          id,
          tenantId: principal.tenantId,
          email,
          role: input.role,
          tokenHash: hash,
          invitedByUserId: principal.userId,
          expiresAt: new Date(clock.now().getTime() + INVITATION_TTL_SECONDS * 1000),
        });
        await deps.auditService.record(tx, principal.tenantId, {
          action: 'invitation.created',
          actor: actorOf(principal),
          target: { type: 'invitation', id: encodeId('inv', id) },
          ip: meta.ip,
          userAgent: meta.userAgent,
          details: { email, role: input.role },
        });
        return {
          row: created,
          tenantName: (await deps.tenantSettingsRepository.findTenant(tx, principal.tenantId))?.name ?? '',
        };
      });
      await deps.mailer.send({
        kind: 'invitation',
        to: email,
        subject: `You are invited to ${tenantName} on Mailwarden`,
        text: `You have been invited to join ${tenantName} on Mailwarden as ${input.role}. To accept, send this token to POST /v1/invitations/accept within 7 days:\n\n${token}\n`,
      });
      return view(row);
    },

    async list(principal: Principal) {
      assertCan(principal, 'invitations.manage');
      return (await withTenant(db, principal.tenantId, (tx) => repo.list(tx, principal.tenantId))).map(view);
    },

    async revoke(principal: Principal, typedId: string, meta: RequestMeta) {
      assertCan(principal, 'invitations.manage');
      const id = decodeId('inv', typedId);
      if (!id) throw notFound('invitation', typedId);
      return withTenant(db, principal.tenantId, async (tx) => {
        const existing = await repo.find(tx, principal.tenantId, id);
        if (!existing) throw notFound('invitation', typedId);
        const revoked = await repo.revoke(tx, principal.tenantId, id, clock.now());
        if (revoked) {
          await deps.auditService.record(tx, principal.tenantId, {
            action: 'invitation.revoked',
            actor: actorOf(principal),
            target: { type: 'invitation', id: typedId },
            ip: meta.ip,
            userAgent: meta.userAgent,
            details: { email: existing.email },
          });
        }
        return view(revoked ?? existing);
      });
    },

    async accept(input: { token: string; password: string; displayName?: string }, meta: RequestMeta) {
      const parsed = parseToken('mwi', 2, input.token);
      if (!parsed) throw invalid();
      const [tenantId, id] = parsed.ids as [string, string];
      const usable = (row: InvitationRow | undefined): row is InvitationRow =>
        Boolean(
          row &&
            !row.acceptedAt &&
            !row.revokedAt &&
            row.expiresAt > clock.now() &&
            hexDigestsEqual(sha256Hex(parsed.secret), row.tokenHash),
        );
      const { invitation, settings, tenantName } = await withTenant(db, tenantId, async (tx) => ({
        invitation: await repo.find(tx, tenantId, id),
        settings: settingsView(await deps.tenantSettingsRepository.find(tx, tenantId)),
        tenantName: (await deps.tenantSettingsRepository.findTenant(tx, tenantId))?.name ?? '',
      }));
      if (!usable(invitation)) throw invalid();
      const accepted: InvitationRow = invitation;
      const existing = await deps.usersRepository.findByEmail(accepted.email);
      let userId: string;
      let newUser: { passwordHash: string } | null = null;
      if (existing?.passwordHash) {
        await deps.attemptGuard.admit('login', accepted.email, meta.ip);
        if (!(await deps.passwordHasher.verify(existing.passwordHash, input.password))) {
          await deps.attemptGuard.failed('login', accepted.email, meta.ip);
          throw new AppError('invalid_credentials', {
            detail: 'an account with this address exists; give its password to accept',
          });
        }
        await deps.attemptGuard.succeeded('login', accepted.email, meta.ip);
        userId = existing.id;
      } else {
        const problems = passwordProblems(input.password, settings.passwordPolicy, {
          userInputs: [accepted.email, input.displayName ?? '', tenantName],
        });
        if (problems.length > 0) throw policyProblemsError(problems);
        newUser = { passwordHash: await deps.passwordHasher.hash(input.password) };
        userId = uuidv7(clock.now().getTime());
      }
      try {
        await withTenant(db, tenantId, async (tx) => {
          const locked = await repo.find(tx, tenantId, id, true);
          if (!usable(locked)) throw invalid();
          if (newUser)
            await deps.usersRepository.insert(tx, {
              id: userId,
              email: accepted.email,
              displayName: input.displayName ?? null,
              passwordHash: newUser.passwordHash,
            });
          await deps.membersRepository.insert(tx, { id: uuidv7(), tenantId, userId, role: accepted.role });
          await repo.markAccepted(tx, tenantId, id, clock.now());
          await deps.auditService.record(tx, tenantId, {
            action: 'member.joined',
            actor: userActor(userId),
            target: { type: 'invitation', id: encodeId('inv', id) },
            ip: meta.ip,
            userAgent: meta.userAgent,
            details: { role: accepted.role, newAccount: newUser !== null },
          });
        });
      } catch (err) {
        if (isUniqueViolation(err))
          throw new AppError('conflict', {
            detail: 'this account is already a member, or was created meanwhile',
          });
        throw err;
      }
      return {
        tenant: { id: encodeId('ten', tenantId), name: tenantName },
        userId: encodeId('usr', userId),
        email: accepted.email,
        role: accepted.role,
      };
    },
  };
}

export type InvitationsService = ReturnType<typeof createInvitationsService>;

import {
  type ApiKeyScope,
  type AuthServices,
  assertCan,
  assertUnrestricted,
  type Permission,
  type Principal,
  type Role,
  type SignedIn,
} from '@mailwarden/auth';
import { AppError, decodeId } from '@mailwarden/core';
import type { MercuriusContext } from 'mercurius';
import { requestMeta } from '../plugins/auth.ts';
import type { GraphqlModule } from './modules.ts';

/**
 * Accounts over GraphQL: the same services and principal as REST. The principal in the context is
 * the one the auth plugin resolved for this HTTP request; every resolver names the permission it
 * needs, exactly as the REST route does.
 */
function caller(
  ctx: MercuriusContext,
  permission?: Permission,
  options: { allowRestricted?: boolean } = {},
): Principal {
  const principal = ctx.principal;
  if (!principal)
    throw new AppError('unauthenticated', { detail: 'send Authorization: Bearer <access token or API key>' });
  if (!options.allowRestricted) assertUnrestricted(principal);
  if (permission) assertCan(principal, permission);
  return principal;
}

const meta = (ctx: MercuriusContext) => requestMeta(ctx.reply.request);
const signedIn = (result: SignedIn) => ({
  ...result.tokens,
  tenant: result.tenant,
  tenants: result.tenants,
  restriction: result.restriction,
});

type Args<T> = T;

export function accountsModule(auth: AuthServices): GraphqlModule {
  /** One batch per query for every `createdBy`/`invitedBy` in it, filtered by the caller's tenant. */
  const memberLoader =
    (field: 'createdBy' | 'invitedBy') =>
    async (queries: Array<{ obj: Record<string, string | null> }>, ctx: MercuriusContext) => {
      const principal = caller(ctx, 'members.read');
      const ids = queries.map((q) => (q.obj[field] ? decodeId('usr', q.obj[field]!) : undefined));
      const found = await auth.members.usersInTenant(principal, [
        ...new Set(ids.filter((id): id is string => Boolean(id))),
      ]);
      return ids.map((id) => (id ? (found.get(id) ?? null) : null));
    };

  return {
    resolvers: {
      Query: {
        me: async (_: unknown, __: unknown, ctx: MercuriusContext) => {
          const me = await auth.login.whoAmI(caller(ctx, 'account.self', { allowRestricted: true }));
          return { ...me.user, tenant: me.tenant, tenants: me.tenants, restriction: me.restriction };
        },
        tenant: (_: unknown, __: unknown, ctx: MercuriusContext) =>
          auth.tenantSettings.get(caller(ctx, 'tenant.read')),
        members: (_: unknown, __: unknown, ctx: MercuriusContext) =>
          auth.members.list(caller(ctx, 'members.read')),
        member: (_: unknown, args: Args<{ id: string }>, ctx: MercuriusContext) =>
          auth.members.get(caller(ctx, 'members.read'), args.id),
        apiKeys: (_: unknown, __: unknown, ctx: MercuriusContext) =>
          auth.apiKeys.list(caller(ctx, 'api_keys.read')),
        apiKey: (_: unknown, args: Args<{ id: string }>, ctx: MercuriusContext) =>
          auth.apiKeys.get(caller(ctx, 'api_keys.read'), args.id),
        invitations: (_: unknown, __: unknown, ctx: MercuriusContext) =>
          auth.invitations.list(caller(ctx, 'invitations.manage')),
        sessions: (_: unknown, __: unknown, ctx: MercuriusContext) =>
          auth.sessions.list(caller(ctx, 'account.self')),
        auditEvents: async (
          _: unknown,
          args: Args<{ first: number; after?: string | null }>,
          ctx: MercuriusContext,
        ) => {
          if (args.first < 1 || args.first > 100)
            throw new AppError('validation_failed', { detail: 'first must be between 1 and 100' });
          const page = await auth.audit.list(caller(ctx, 'audit.read'), {
            limit: args.first,
            cursor: args.after ?? undefined,
          });
          return {
            nodes: page.items.map((e) => ({ ...e, details: JSON.stringify(e.details) })),
            pageInfo: {
              endCursor: page.nextCursor ?? page.items.at(-1)?.id ?? null,
              hasNextPage: page.nextCursor !== null,
            },
          };
        },
      },
      Tenant: {
        members: (_: unknown, __: unknown, ctx: MercuriusContext) =>
          auth.members.list(caller(ctx, 'members.read')),
      },
      Mutation: {
        signUp: async (
          _: unknown,
          args: Args<{
            input: { email: string; password: string; tenantName: string; displayName?: string };
          }>,
          ctx: MercuriusContext,
        ) => {
          const { tokens, tenant } = await auth.signUp.signUp(args.input, meta(ctx));
          return { ...tokens, tenant, tenants: [tenant], restriction: null };
        },
        login: async (
          _: unknown,
          args: Args<{ input: { email: string; password: string; tenantId?: string } }>,
          ctx: MercuriusContext,
        ) => {
          const result = await auth.login.login(
            { ...args.input, tenantId: args.input.tenantId ?? undefined },
            meta(ctx),
          );
          return result.status === 'mfa_required'
            ? {
                status: result.status,
                mfaToken: result.mfaToken,
                mfaTokenExpiresIn: result.expiresIn,
                signedIn: null,
              }
            : { status: result.status, mfaToken: null, mfaTokenExpiresIn: null, signedIn: signedIn(result) };
        },
        completeLoginWithTotp: async (
          _: unknown,
          args: Args<{ mfaToken: string; code: string }>,
          ctx: MercuriusContext,
        ) => signedIn(await auth.login.completeWithTotp(args, meta(ctx))),
        completeLoginWithRecoveryCode: async (
          _: unknown,
          args: Args<{ mfaToken: string; recoveryCode: string }>,
          ctx: MercuriusContext,
        ) => signedIn(await auth.login.completeWithRecoveryCode(args, meta(ctx))),
        requestPasswordReset: async (_: unknown, args: Args<{ email: string }>, ctx: MercuriusContext) => {
          await auth.passwords.requestReset(args.email, meta(ctx));
          return true;
        },
        updateTenantSettings: (
          _: unknown,
          args: Args<{
            input: {
              requireMfa?: boolean;
              passwordMinLength?: number;
              passwordRequiredClasses?: string[];
              passwordMaxAgeDays?: number;
              passwordHistoryCount?: number;
            };
          }>,
          ctx: MercuriusContext,
        ) => {
          const i = args.input;
          const classes = i.passwordRequiredClasses ?? undefined;
          if (classes?.some((c) => !['lower', 'upper', 'digit', 'symbol'].includes(c))) {
            throw new AppError('validation_failed', {
              detail: 'passwordRequiredClasses takes lower, upper, digit, symbol',
            });
          }
          const bounded = (value: number | null | undefined, min: number, max: number, name: string) => {
            if (value === null || value === undefined) return undefined;
            if (value < min || value > max)
              throw new AppError('validation_failed', {
                detail: `${name} must be between ${min} and ${max}`,
              });
            return value;
          };
          return auth.tenantSettings.update(
            caller(ctx, 'tenant.settings.update'),
            {
              requireMfa: i.requireMfa ?? undefined,
              passwordPolicy: {
                minLength: bounded(i.passwordMinLength, 15, 128, 'passwordMinLength'),
                requiredClasses: classes as ('lower' | 'upper' | 'digit' | 'symbol')[] | undefined,
                maxAgeDays: bounded(i.passwordMaxAgeDays, 0, 3650, 'passwordMaxAgeDays'),
                historyCount: bounded(i.passwordHistoryCount, 0, 24, 'passwordHistoryCount'),
              },
            },
            meta(ctx),
          );
        },
        updateMemberRole: (_: unknown, args: Args<{ id: string; role: Role }>, ctx: MercuriusContext) =>
          auth.members.changeRole(caller(ctx, 'members.update'), args.id, args.role, meta(ctx)),
        removeMember: async (_: unknown, args: Args<{ id: string }>, ctx: MercuriusContext) => {
          await auth.members.remove(caller(ctx, 'members.remove'), args.id, meta(ctx));
          return true;
        },
        createInvitation: (_: unknown, args: Args<{ email: string; role: Role }>, ctx: MercuriusContext) =>
          auth.invitations.create(caller(ctx, 'invitations.manage'), args, meta(ctx)),
        createApiKey: (
          _: unknown,
          args: Args<{ input: { name: string; scopes: ApiKeyScope[]; expiresAt?: string | null } }>,
          ctx: MercuriusContext,
        ) => {
          const { name, scopes, expiresAt } = args.input;
          if (name.length < 1 || name.length > 100 || scopes.length < 1)
            throw new AppError('validation_failed', {
              detail: 'name must be 1 to 100 characters and scopes not empty',
            });
          if (expiresAt && Number.isNaN(Date.parse(expiresAt)))
            throw new AppError('validation_failed', { detail: 'expiresAt must be an ISO 8601 date-time' });
          return auth.apiKeys.create(caller(ctx, 'api_keys.manage'), { name, scopes, expiresAt }, meta(ctx));
        },
        renameApiKey: (_: unknown, args: Args<{ id: string; name: string }>, ctx: MercuriusContext) => {
          if (args.name.length < 1 || args.name.length > 100)
            throw new AppError('validation_failed', { detail: 'name must be 1 to 100 characters' });
          return auth.apiKeys.rename(caller(ctx, 'api_keys.manage'), args.id, args.name, meta(ctx));
        },
        revokeApiKey: (_: unknown, args: Args<{ id: string }>, ctx: MercuriusContext) =>
          auth.apiKeys.revoke(caller(ctx, 'api_keys.manage'), args.id, meta(ctx)),
      },
    },
    loaders: {
      ApiKey: { createdBy: memberLoader('createdBy') },
      Invitation: { invitedBy: memberLoader('invitedBy') },
    },
  };
}

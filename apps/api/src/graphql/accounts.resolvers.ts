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
import { AppError, decodeId, type FieldProblem } from '@mailwarden/core';
import type { MercuriusContext } from 'mercurius';
import { type TSchema, Type } from 'typebox';
import { Value } from 'typebox/value';
import { requestMeta } from '../plugins/auth.ts';
import { type CredentialLimit, credentialLimiter } from '../plugins/auth-rate-limit.ts';
import {
  DisplayName,
  Email,
  MfaToken,
  NewPassword,
  OpaqueToken,
  PasswordInput,
  RecoveryCodeInput,
  TenantIdInput,
  TenantName,
  TotpCode,
} from '../schemas/auth.ts';
import type { GraphqlModule } from './modules.ts';

/**
 * Accounts over GraphQL: the same services and principal as REST, so the same audit events, the
 * same error codes and the same per-account limits. What REST does in route options is done here
 * per field, in the same order:
 *
 * 1. credential fields count one attempt against the REST route's per-address limit (the same
 *    Redis counter: `credentialLimiter`), once per field, so aliases cannot multiply attempts;
 * 2. arguments are checked against the REST body schemas (`validation_failed`);
 * 3. the caller: a session where REST says `auth: 'session'` (an API key gets `unauthenticated`),
 *    the restriction rule (`allowRestricted`), then the permission.
 */
interface CallerOptions {
  /** Only a signed-in person (REST `auth: 'session'`); API keys are refused like on REST. */
  session?: boolean;
  allowRestricted?: boolean;
}

function caller(ctx: MercuriusContext, permission?: Permission, options: CallerOptions = {}): Principal {
  const principal = ctx.principal;
  if (!principal)
    throw new AppError('unauthenticated', { detail: 'send Authorization: Bearer <access token or API key>' });
  if (options.session && principal.actorType !== 'user')
    throw new AppError('unauthenticated', {
      detail: 'this needs a signed-in person; API keys are not accepted here',
    });
  if (!options.allowRestricted) assertUnrestricted(principal);
  if (permission) assertCan(principal, permission);
  return principal;
}

/** A person's own account (sessions, password, 2FA): what REST's `auth: 'session'` routes need. */
const self = (ctx: MercuriusContext, allowRestricted = false) =>
  caller(ctx, 'account.self', { session: true, allowRestricted });

/** Counts one attempt of a credential operation for the caller's address, like the REST hook. */
const attempt = (ctx: MercuriusContext, limit: CredentialLimit) =>
  credentialLimiter(ctx.app, limit)(ctx.reply.request);

/** Checks arguments against the REST schemas: the same input is refused by both transports. */
function check(args: Record<string, unknown>, schemas: Record<string, TSchema>, prefix = ''): void {
  const problems: FieldProblem[] = [];
  for (const [name, schema] of Object.entries(schemas)) {
    const value = args[name];
    if (value === undefined || value === null) continue; // the SDL says what is required
    const first = Value.Errors(schema, value)[0];
    if (first) problems.push({ location: `${prefix}${name}`, message: first.message ?? 'is invalid' });
  }
  if (problems.length > 0)
    throw new AppError('validation_failed', {
      detail: problems.map((p) => `${p.location} ${p.message}`).join('; '),
      errors: problems,
    });
}

const FIRST_MAX = 100;
const ApiKeyName = Type.String({ minLength: 1, maxLength: 100 });
const ISO_DATE_TIME = Type.String({ format: 'date-time' });

const meta = (ctx: MercuriusContext) => requestMeta(ctx.reply.request);
const signedIn = (result: SignedIn) => ({
  ...result.tokens,
  tenant: result.tenant,
  tenants: result.tenants,
  restriction: result.restriction,
});

type Args<T> = T;
type Resolver<A> = (parent: unknown, args: A, ctx: MercuriusContext) => unknown;
const resolver = <A>(fn: Resolver<A>) => fn;

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

  const Query = {
    me: resolver(async (_, __, ctx) => {
      const me = await auth.login.whoAmI(self(ctx, true));
      return { ...me.user, tenant: me.tenant, tenants: me.tenants, restriction: me.restriction };
    }),
    tenant: resolver((_, __, ctx) => auth.tenantSettings.get(caller(ctx, 'tenant.read'))),
    members: resolver((_, __, ctx) => auth.members.list(caller(ctx, 'members.read'))),
    member: resolver<Args<{ id: string }>>((_, args, ctx) =>
      auth.members.get(caller(ctx, 'members.read'), args.id),
    ),
    apiKeys: resolver((_, __, ctx) => auth.apiKeys.list(caller(ctx, 'api_keys.read'))),
    apiKey: resolver<Args<{ id: string }>>((_, args, ctx) =>
      auth.apiKeys.get(caller(ctx, 'api_keys.read'), args.id),
    ),
    invitations: resolver((_, __, ctx) =>
      auth.invitations.list(caller(ctx, 'invitations.manage', { session: true })),
    ),
    sessions: resolver((_, __, ctx) => auth.sessions.list(self(ctx))),
    totpStatus: resolver((_, __, ctx) => auth.totp.status(self(ctx, true))),
    auditEvents: resolver<Args<{ first: number; after?: string | null }>>(async (_, args, ctx) => {
      if (args.first < 1 || args.first > FIRST_MAX)
        throw new AppError('validation_failed', { detail: `first must be between 1 and ${FIRST_MAX}` });
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
    }),
  };

  /** Sign-up, sign-in and everything else reachable without a session. */
  const credentialMutations = {
    signUp: resolver<
      Args<{ input: { email: string; password: string; tenantName: string; displayName?: string | null } }>
    >(async (_, { input }, ctx) => {
      await attempt(ctx, 'signUp');
      check(
        input,
        { email: Email, password: NewPassword, tenantName: TenantName, displayName: DisplayName },
        'input.',
      );
      const { tokens, tenant } = await auth.signUp.signUp(
        { ...input, displayName: input.displayName ?? undefined },
        meta(ctx),
      );
      return { ...tokens, tenant, tenants: [tenant], restriction: null };
    }),
    login: resolver<Args<{ input: { email: string; password: string; tenantId?: string | null } }>>(
      async (_, { input }, ctx) => {
        await attempt(ctx, 'signIn');
        check(input, { email: Email, password: PasswordInput, tenantId: TenantIdInput }, 'input.');
        const result = await auth.login.login({ ...input, tenantId: input.tenantId ?? undefined }, meta(ctx));
        return result.status === 'mfa_required'
          ? {
              status: result.status,
              mfaToken: result.mfaToken,
              mfaTokenExpiresIn: result.expiresIn,
              signedIn: null,
            }
          : { status: result.status, mfaToken: null, mfaTokenExpiresIn: null, signedIn: signedIn(result) };
      },
    ),
    completeLoginWithTotp: resolver<Args<{ mfaToken: string; code: string }>>(async (_, args, ctx) => {
      await attempt(ctx, 'secondFactor');
      check(args, { mfaToken: MfaToken, code: TotpCode });
      return signedIn(await auth.login.completeWithTotp(args, meta(ctx)));
    }),
    completeLoginWithRecoveryCode: resolver<Args<{ mfaToken: string; recoveryCode: string }>>(
      async (_, args, ctx) => {
        await attempt(ctx, 'secondFactor');
        check(args, { mfaToken: MfaToken, recoveryCode: RecoveryCodeInput });
        return signedIn(await auth.login.completeWithRecoveryCode(args, meta(ctx)));
      },
    ),
    requestPasswordReset: resolver<Args<{ email: string }>>(async (_, args, ctx) => {
      await attempt(ctx, 'passwordReset');
      check(args, { email: Email });
      await auth.passwords.requestReset(args.email, meta(ctx));
      return true;
    }),
    resetPassword: resolver<Args<{ token: string; newPassword: string }>>(async (_, args, ctx) => {
      await attempt(ctx, 'passwordReset');
      check(args, { token: OpaqueToken('mwp'), newPassword: NewPassword });
      await auth.passwords.reset(args, meta(ctx));
      return true;
    }),
    refreshSession: resolver<Args<{ refreshToken: string }>>(async (_, args, ctx) => {
      await attempt(ctx, 'refresh');
      check(args, { refreshToken: OpaqueToken('mwr') });
      return auth.sessions.refresh(args.refreshToken, meta(ctx));
    }),
    acceptInvitation: resolver<
      Args<{ input: { token: string; password: string; displayName?: string | null } }>
    >(async (_, { input }, ctx) => {
      await attempt(ctx, 'invitation');
      check(input, { token: OpaqueToken('mwi'), password: NewPassword, displayName: DisplayName }, 'input.');
      return auth.invitations.accept({ ...input, displayName: input.displayName ?? undefined }, meta(ctx));
    }),
  };

  /** The signed-in person's own account: password, 2FA, sessions, tenants. */
  const accountMutations = {
    changePassword: resolver<Args<{ currentPassword: string; newPassword: string }>>(async (_, args, ctx) => {
      const principal = self(ctx, true);
      check(args, { currentPassword: PasswordInput, newPassword: NewPassword });
      await auth.passwords.change(principal, args, meta(ctx));
      return true;
    }),
    logOut: resolver(async (_, __, ctx) => {
      await auth.sessions.revoke(self(ctx, true), null, meta(ctx));
      return true;
    }),
    logOutEverywhere: resolver((_, __, ctx) => auth.sessions.revokeEverywhere(self(ctx, true), meta(ctx))),
    revokeSession: resolver<Args<{ id: string }>>(async (_, args, ctx) => {
      await auth.sessions.revoke(self(ctx), args.id, meta(ctx));
      return true;
    }),
    switchTenant: resolver<Args<{ tenantId: string }>>(async (_, args, ctx) => {
      const principal = self(ctx);
      check(args, { tenantId: TenantIdInput });
      return signedIn(await auth.login.switchTenant(principal, args.tenantId, meta(ctx)));
    }),
    startTotpEnrolment: resolver((_, __, ctx) => auth.totp.startEnrolment(self(ctx, true))),
    confirmTotpEnrolment: resolver<Args<{ code: string }>>((_, args, ctx) => {
      const principal = self(ctx, true);
      check(args, { code: TotpCode });
      return auth.totp.confirmEnrolment(principal, args.code, meta(ctx));
    }),
    regenerateRecoveryCodes: resolver<Args<{ code: string }>>((_, args, ctx) => {
      const principal = self(ctx);
      check(args, { code: TotpCode });
      return auth.totp.regenerateRecoveryCodes(principal, args.code, meta(ctx));
    }),
    disableTotp: resolver<Args<{ password: string }>>(async (_, args, ctx) => {
      const principal = self(ctx);
      check(args, { password: PasswordInput });
      await auth.totp.disable(principal, args.password, meta(ctx));
      return true;
    }),
  };

  /** Tenant administration: settings, members, invitations, API keys. */
  const tenantMutations = {
    updateTenantSettings: resolver<
      Args<{
        input: {
          requireMfa?: boolean | null;
          passwordMinLength?: number | null;
          passwordRequiredClasses?: string[] | null;
          passwordMaxAgeDays?: number | null;
          passwordHistoryCount?: number | null;
        };
      }>
    >((_, { input: i }, ctx) => {
      const principal = caller(ctx, 'tenant.settings.update');
      check(
        i,
        {
          passwordMinLength: Type.Integer({ minimum: 15, maximum: 128 }),
          passwordRequiredClasses: Type.Array(
            Type.Union([
              Type.Literal('lower'),
              Type.Literal('upper'),
              Type.Literal('digit'),
              Type.Literal('symbol'),
            ]),
            { maxItems: 4, uniqueItems: true },
          ),
          passwordMaxAgeDays: Type.Integer({ minimum: 0, maximum: 3650 }),
          passwordHistoryCount: Type.Integer({ minimum: 0, maximum: 24 }),
        },
        'input.',
      );
      return auth.tenantSettings.update(
        principal,
        {
          requireMfa: i.requireMfa ?? undefined,
          passwordPolicy: {
            minLength: i.passwordMinLength ?? undefined,
            requiredClasses: (i.passwordRequiredClasses ?? undefined) as
              | ('lower' | 'upper' | 'digit' | 'symbol')[]
              | undefined,
            maxAgeDays: i.passwordMaxAgeDays ?? undefined,
            historyCount: i.passwordHistoryCount ?? undefined,
          },
        },
        meta(ctx),
      );
    }),
    updateMemberRole: resolver<Args<{ id: string; role: Role }>>((_, args, ctx) =>
      auth.members.changeRole(caller(ctx, 'members.update'), args.id, args.role, meta(ctx)),
    ),
    removeMember: resolver<Args<{ id: string }>>(async (_, args, ctx) => {
      await auth.members.remove(caller(ctx, 'members.remove'), args.id, meta(ctx));
      return true;
    }),
    createInvitation: resolver<Args<{ email: string; role: Role }>>((_, args, ctx) => {
      const principal = caller(ctx, 'invitations.manage', { session: true });
      check(args, { email: Email });
      return auth.invitations.create(principal, args, meta(ctx));
    }),
    revokeInvitation: resolver<Args<{ id: string }>>((_, args, ctx) =>
      auth.invitations.revoke(caller(ctx, 'invitations.manage', { session: true }), args.id, meta(ctx)),
    ),
    createApiKey: resolver<
      Args<{ input: { name: string; scopes: ApiKeyScope[]; expiresAt?: string | null } }>
    >((_, { input }, ctx) => {
      const principal = caller(ctx, 'api_keys.manage', { session: true });
      check(
        input,
        {
          name: ApiKeyName,
          scopes: Type.Array(Type.String(), { minItems: 1, maxItems: 3, uniqueItems: true }),
          expiresAt: ISO_DATE_TIME,
        },
        'input.',
      );
      return auth.apiKeys.create(principal, input, meta(ctx));
    }),
    renameApiKey: resolver<Args<{ id: string; name: string }>>((_, args, ctx) => {
      const principal = caller(ctx, 'api_keys.manage', { session: true });
      check(args, { name: ApiKeyName });
      return auth.apiKeys.rename(principal, args.id, args.name, meta(ctx));
    }),
    revokeApiKey: resolver<Args<{ id: string }>>((_, args, ctx) =>
      auth.apiKeys.revoke(caller(ctx, 'api_keys.manage', { session: true }), args.id, meta(ctx)),
    ),
  };

  return {
    resolvers: {
      Query,
      Tenant: {
        members: resolver((_, __, ctx) => auth.members.list(caller(ctx, 'members.read'))),
      },
      Mutation: { ...credentialMutations, ...accountMutations, ...tenantMutations },
    } as GraphqlModule['resolvers'],
    loaders: {
      ApiKey: { createdBy: memberLoader('createdBy') },
      Invitation: { invitedBy: memberLoader('invitedBy') },
    },
  };
}

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AuthServices, SignedIn as SignedInResult } from '@mailwarden/auth';
import { Type } from 'typebox';
import { principalOf, requestMeta } from '../../plugins/auth.ts';
import { credentialRateLimit } from '../../plugins/auth-rate-limit.ts';
import {
  Closed,
  DisplayName,
  Email,
  LoginResponse,
  MeResponse,
  MfaToken,
  NewPassword,
  OpaqueToken,
  PasswordInput,
  RecoveryCodeInput,
  SignedIn,
  SignUpResponse,
  TenantIdInput,
  TenantName,
  TotpCode,
  TypedId,
} from '../../schemas/auth.ts';
import { problemResponses } from '../../schemas/problem.ts';

/** Flattens a service sign-in result into the SignedIn response shape. */
export function signedInBody(result: SignedInResult) {
  return {
    status: 'authenticated' as const,
    ...result.tokens,
    tenant: result.tenant,
    tenants: result.tenants,
    restriction: result.restriction,
  };
}

/** Sign-up, sign-in (password, then TOTP or a recovery code), refresh, sign-out, switching tenant. */
export const authRoutes: FastifyPluginAsyncTypebox<{ auth: AuthServices }> = async (app, { auth }) => {
  const tags = ['auth'];

  app.post(
    '/auth/signup',
    {
      onRequest: credentialRateLimit(app, 'signUp'),
      schema: {
        operationId: 'signUp',
        tags,
        summary: 'Create a tenant and its owner, and sign the owner in',
        description:
          'Example body: `{"email":"ann.lee@acme.example","password":"glacier tundra marmalade obelisk","tenantName":"Acme Mail"}`',
        body: Type.Object(
          {
            email: Email,
            password: NewPassword,
            tenantName: TenantName,
            displayName: Type.Optional(DisplayName),
          },
          Closed,
        ),
        response: { 201: SignUpResponse, ...problemResponses(400, 409, 415, 429, 503) },
      },
      config: { auth: 'public' },
    },
    async (request, reply) => {
      const { user, tenant, tokens } = await auth.signUp.signUp(request.body, requestMeta(request));
      return reply.code(201).send({
        user,
        status: 'authenticated' as const,
        ...tokens,
        tenant,
        tenants: [tenant],
        restriction: null,
      });
    },
  );

  app.post(
    '/auth/login',
    {
      onRequest: credentialRateLimit(app, 'signIn'),
      schema: {
        operationId: 'logIn',
        tags,
        summary: 'Sign in with e-mail and password',
        description:
          'Unknown addresses and wrong passwords get the same 401 `invalid_credentials`. A user with 2FA gets `status: "mfa_required"` and an `mfaToken` for the second step. Example: `{"email":"ann.lee@acme.example","password":"…","tenantId":"ten_…"}`',
        body: Type.Object(
          {
            email: Email,
            password: PasswordInput,
            tenantId: Type.Optional(
              Type.String({
                maxLength: 64,
                description: 'Tenant to sign in to; default the first one joined',
              }),
            ),
          },
          Closed,
        ),
        response: { 200: LoginResponse, ...problemResponses(400, 401, 403, 404, 429, 503) },
      },
      config: { auth: 'public' },
    },
    async (request) => {
      const result = await auth.login.login(request.body, requestMeta(request));
      return result.status === 'mfa_required' ? result : signedInBody(result);
    },
  );

  app.post(
    '/auth/login/totp',
    {
      onRequest: credentialRateLimit(app, 'secondFactor'),
      schema: {
        operationId: 'completeLoginWithTotp',
        tags,
        summary: 'Second step: a 6-digit code from the authenticator app',
        description:
          'Each code works once (`totp_replayed` otherwise). Example: `{"mfaToken":"eyJ…","code":"492039"}`',
        body: Type.Object(
          {
            mfaToken: MfaToken,
            code: TotpCode,
          },
          Closed,
        ),
        response: { 200: SignedIn, ...problemResponses(400, 401, 429, 503) },
      },
      config: { auth: 'public' },
    },
    async (request) => signedInBody(await auth.login.completeWithTotp(request.body, requestMeta(request))),
  );

  app.post(
    '/auth/login/recovery-code',
    {
      onRequest: credentialRateLimit(app, 'secondFactor'),
      schema: {
        operationId: 'completeLoginWithRecoveryCode',
        tags,
        summary: 'Second step: one of the ten recovery codes (each works once)',
        body: Type.Object(
          {
            mfaToken: MfaToken,
            recoveryCode: RecoveryCodeInput,
          },
          Closed,
        ),
        response: { 200: SignedIn, ...problemResponses(400, 401, 429, 503) },
      },
      config: { auth: 'public' },
    },
    async (request) =>
      signedInBody(await auth.login.completeWithRecoveryCode(request.body, requestMeta(request))),
  );

  app.post(
    '/auth/token',
    {
      onRequest: credentialRateLimit(app, 'refresh'),
      schema: {
        operationId: 'refreshSession',
        tags,
        summary: 'Trade a refresh token for a new access token and a new refresh token',
        description:
          'The old refresh token stops working. Presenting it again ends the session (`refresh_token_reused`).',
        body: Type.Object({ refreshToken: OpaqueToken('mwr') }, Closed),
        response: {
          200: Type.Object(
            {
              tokenType: Type.Literal('Bearer'),
              accessToken: Type.String(),
              expiresIn: Type.Integer(),
              refreshToken: Type.String(),
              sessionId: TypedId('ses'),
            },
            Closed,
          ),
          ...problemResponses(400, 401, 429, 503),
        },
      },
      config: { auth: 'public' },
    },
    async (request) => auth.sessions.refresh(request.body.refreshToken, requestMeta(request)),
  );

  app.post(
    '/auth/logout',
    {
      schema: {
        operationId: 'logOut',
        tags,
        summary: 'End this session',
        response: { 204: Type.Null(), ...problemResponses(401) },
      },
      config: { auth: 'session', allowRestricted: true },
    },
    async (request, reply) => {
      await auth.sessions.revoke(principalOf(request), null, requestMeta(request));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/auth/logout-everywhere',
    {
      schema: {
        operationId: 'logOutEverywhere',
        tags,
        summary: 'End every session of this user, in every tenant',
        response: { 200: Type.Object({ revokedSessions: Type.Integer() }, Closed), ...problemResponses(401) },
      },
      config: { auth: 'session', allowRestricted: true },
    },
    async (request) => auth.sessions.revokeEverywhere(principalOf(request), requestMeta(request)),
  );

  app.post(
    '/auth/switch-tenant',
    {
      schema: {
        operationId: 'switchTenant',
        tags,
        summary: 'Open a session in another tenant of the same user',
        description:
          'A token carries one tenant; this returns tokens for the other. Example: `{"tenantId":"ten_…"}`',
        body: Type.Object({ tenantId: TenantIdInput }, Closed),
        response: { 200: SignedIn, ...problemResponses(400, 401, 403, 404) },
      },
      config: { auth: 'session' },
    },
    async (request) =>
      signedInBody(
        await auth.login.switchTenant(principalOf(request), request.body.tenantId, requestMeta(request)),
      ),
  );

  app.get(
    '/me',
    {
      schema: {
        operationId: 'getMe',
        tags,
        summary: 'The signed-in user and their tenants',
        response: { 200: MeResponse, ...problemResponses(401) },
      },
      config: { auth: 'session', allowRestricted: true },
    },
    async (request) => auth.login.whoAmI(principalOf(request)),
  );
};

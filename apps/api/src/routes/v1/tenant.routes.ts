import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AuthServices } from '@mailwarden/auth';
import { Type } from 'typebox';
import { principalOf, requestMeta } from '../../plugins/auth.ts';
import { Closed, PasswordPolicy, SecuritySettings, TenantView } from '../../schemas/auth.ts';
import { problemResponses } from '../../schemas/problem.ts';

/** The caller's tenant and its security settings. */
export const tenantRoutes: FastifyPluginAsyncTypebox<{ auth: AuthServices }> = async (app, { auth }) => {
  const tags = ['tenant'];

  app.get(
    '/tenant',
    {
      schema: {
        operationId: 'getTenant',
        tags,
        summary: 'This tenant and its security settings',
        response: { 200: TenantView, ...problemResponses(401, 403) },
      },
      config: { auth: 'session-or-api-key', permission: 'tenant.read' },
    },
    async (request) => auth.tenantSettings.get(principalOf(request)),
  );

  app.patch(
    '/tenant/settings',
    {
      schema: {
        operationId: 'updateTenantSettings',
        tags,
        summary: 'Require 2FA of all members, or tighten the password policy (owner, admin)',
        description:
          'Fields left out stay as they are. Example: `{"requireMfa":true,"passwordPolicy":{"minLength":20,"historyCount":5}}`',
        body: Type.Object(
          {
            requireMfa: Type.Optional(Type.Boolean()),
            passwordPolicy: Type.Optional(Type.Partial(PasswordPolicy, Closed)),
          },
          Closed,
        ),
        response: { 200: SecuritySettings, ...problemResponses(400, 401, 403) },
      },
      config: { auth: 'session-or-api-key', permission: 'tenant.settings.update' },
    },
    async (request) => auth.tenantSettings.update(principalOf(request), request.body, requestMeta(request)),
  );
};

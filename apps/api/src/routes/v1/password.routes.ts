import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AuthServices } from '@mailwarden/auth';
import { Type } from 'typebox';
import { principalOf, requestMeta } from '../../plugins/auth.ts';
import { credentialRateLimit } from '../../plugins/auth-rate-limit.ts';
import { Closed, Email, NewPassword, OpaqueToken, PasswordInput } from '../../schemas/auth.ts';
import { problemResponses } from '../../schemas/problem.ts';

/** Changing a password (needs the current one) and resetting a forgotten one (needs the mailbox). */
export const passwordRoutes: FastifyPluginAsyncTypebox<{ auth: AuthServices }> = async (app, { auth }) => {
  const tags = ['auth'];

  app.post(
    '/auth/password/change',
    {
      schema: {
        operationId: 'changePassword',
        tags,
        summary: 'Change the password; ends every other session of the user',
        description:
          'Allowed in a session restricted by an expired password. Example: `{"currentPassword":"…","newPassword":"glacier tundra marmalade obelisk"}`',
        body: Type.Object({ currentPassword: PasswordInput, newPassword: NewPassword }, Closed),
        response: { 204: Type.Null(), ...problemResponses(400, 401, 429) },
      },
      config: { auth: 'session', allowRestricted: true },
    },
    async (request, reply) => {
      await auth.passwords.change(principalOf(request), request.body, requestMeta(request));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/auth/password/reset-request',
    {
      onRequest: credentialRateLimit(app, 'passwordReset'),
      schema: {
        operationId: 'requestPasswordReset',
        tags,
        summary: 'Mail a single-use reset token, valid 30 minutes, if the address has an account',
        description:
          'Answers 202 whether or not the address is known, so it cannot be used to find accounts.',
        body: Type.Object({ email: Email }, Closed),
        response: {
          202: Type.Object({ status: Type.Literal('accepted') }, Closed),
          ...problemResponses(400, 429, 503),
        },
      },
      config: { auth: 'public' },
    },
    async (request, reply) => {
      await auth.passwords.requestReset(request.body.email, requestMeta(request));
      return reply.code(202).send({ status: 'accepted' as const });
    },
  );

  app.post(
    '/auth/password/reset',
    {
      onRequest: credentialRateLimit(app, 'passwordReset'),
      schema: {
        operationId: 'resetPassword',
        tags,
        summary: 'Set a new password with a mailed reset token; ends every session of the user',
        body: Type.Object(
          {
            token: OpaqueToken('mwp'),
            newPassword: NewPassword,
          },
          Closed,
        ),
        response: { 204: Type.Null(), ...problemResponses(400, 401, 429, 503) },
      },
      config: { auth: 'public' },
    },
    async (request, reply) => {
      await auth.passwords.reset(request.body, requestMeta(request));
      return reply.code(204).send(null);
    },
  );
};

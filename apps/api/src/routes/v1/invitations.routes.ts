import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AuthServices } from '@mailwarden/auth';
import { Type } from 'typebox';
import { principalOf, requestMeta } from '../../plugins/auth.ts';
import { credentialRateLimit } from '../../plugins/auth-rate-limit.ts';
import {
  Closed,
  DisplayName,
  Email,
  IdParams,
  InvitationView,
  NewPassword,
  OpaqueToken,
  Role,
  TypedId,
} from '../../schemas/auth.ts';
import { problemResponses } from '../../schemas/problem.ts';

/** Inviting people by e-mail, and accepting an invitation with its mailed token. */
export const invitationsRoutes: FastifyPluginAsyncTypebox<{ auth: AuthServices }> = async (app, { auth }) => {
  const tags = ['members'];

  app.post(
    '/invitations',
    {
      schema: {
        operationId: 'createInvitation',
        tags,
        summary: 'Invite someone by e-mail; the single-use token goes to that address only',
        description: 'Example: `{"email":"bo@acme.example","role":"member"}`. Valid 7 days.',
        body: Type.Object({ email: Email, role: Role }, Closed),
        response: { 201: InvitationView, ...problemResponses(400, 401, 403, 409) },
      },
      config: { auth: 'session', permission: 'invitations.manage' },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await auth.invitations.create(principalOf(request), request.body, requestMeta(request))),
  );

  app.get(
    '/invitations',
    {
      schema: {
        operationId: 'listInvitations',
        tags,
        summary: 'Invitations of this tenant',
        response: { 200: Type.Array(InvitationView), ...problemResponses(401, 403) },
      },
      config: { auth: 'session', permission: 'invitations.manage' },
    },
    async (request) => auth.invitations.list(principalOf(request)),
  );

  app.delete(
    '/invitations/:id',
    {
      schema: {
        operationId: 'revokeInvitation',
        tags,
        summary: 'Revoke a pending invitation',
        params: IdParams('inv'),
        response: { 200: InvitationView, ...problemResponses(401, 403, 404) },
      },
      config: { auth: 'session', permission: 'invitations.manage' },
    },
    async (request) => auth.invitations.revoke(principalOf(request), request.params.id, requestMeta(request)),
  );

  app.post(
    '/invitations/accept',
    {
      onRequest: credentialRateLimit(app, 'invitation'),
      schema: {
        operationId: 'acceptInvitation',
        tags,
        summary: 'Join a tenant with a mailed invitation token',
        description:
          'For a new address `password` becomes the password of the new account; for an existing account it must be its password. No session is returned: sign in afterwards.',
        body: Type.Object(
          {
            token: OpaqueToken('mwi'),
            password: NewPassword,
            displayName: Type.Optional(DisplayName),
          },
          Closed,
        ),
        response: {
          200: Type.Object(
            {
              tenant: Type.Object({ id: TypedId('ten'), name: Type.String() }, Closed),
              userId: TypedId('usr'),
              email: Type.String(),
              role: Role,
            },
            Closed,
          ),
          ...problemResponses(400, 401, 409, 429, 503),
        },
      },
      config: { auth: 'public' },
    },
    async (request) => auth.invitations.accept(request.body, requestMeta(request)),
  );
};

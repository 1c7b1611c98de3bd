import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AuthServices } from '@mailwarden/auth';
import { Type } from 'typebox';
import { principalOf, requestMeta } from '../../plugins/auth.ts';
import { Closed, IdParams, MemberView, Role } from '../../schemas/auth.ts';
import { problemResponses } from '../../schemas/problem.ts';

/** Members of the tenant and their roles (docs/permissions.md). */
export const membersRoutes: FastifyPluginAsyncTypebox<{ auth: AuthServices }> = async (app, { auth }) => {
  const tags = ['members'];
  const params = IdParams('mem');

  app.get(
    '/members',
    {
      schema: {
        operationId: 'listMembers',
        tags,
        summary: 'Members of this tenant',
        response: { 200: Type.Array(MemberView), ...problemResponses(401, 403) },
      },
      config: { auth: 'session-or-api-key', permission: 'members.read' },
    },
    async (request) => auth.members.list(principalOf(request)),
  );

  app.get(
    '/members/:id',
    {
      schema: {
        operationId: 'getMember',
        tags,
        summary: 'One member',
        params,
        response: { 200: MemberView, ...problemResponses(401, 403, 404) },
      },
      config: { auth: 'session-or-api-key', permission: 'members.read' },
    },
    async (request) => auth.members.get(principalOf(request), request.params.id),
  );

  app.patch(
    '/members/:id',
    {
      schema: {
        operationId: 'updateMember',
        tags,
        summary: "Change a member's role (only an owner grants or takes the owner role)",
        description: 'Example: `{"role":"viewer"}`. A tenant keeps at least one owner (`last_owner`).',
        params,
        body: Type.Object({ role: Role }, Closed),
        response: { 200: MemberView, ...problemResponses(400, 401, 403, 404, 409) },
      },
      config: { auth: 'session-or-api-key', permission: 'members.update' },
    },
    async (request) =>
      auth.members.changeRole(
        principalOf(request),
        request.params.id,
        request.body.role,
        requestMeta(request),
      ),
  );

  app.delete(
    '/members/:id',
    {
      schema: {
        operationId: 'removeMember',
        tags,
        summary: 'Remove a member; their sessions in this tenant end at once',
        params,
        response: { 204: Type.Null(), ...problemResponses(401, 403, 404, 409) },
      },
      config: { auth: 'session-or-api-key', permission: 'members.remove' },
    },
    async (request, reply) => {
      await auth.members.remove(principalOf(request), request.params.id, requestMeta(request));
      return reply.code(204).send(null);
    },
  );
};

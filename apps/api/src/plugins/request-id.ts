import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** Echoes the request id (ours, or the caller's well-formed one) so a customer can quote it to support. */
async function requestId(app: FastifyInstance) {
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
}

export default fp(requestId, { name: 'request-id' });

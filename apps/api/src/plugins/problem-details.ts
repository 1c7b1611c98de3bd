import { AppError, type ErrorCode, errorCatalogue, type FieldProblem } from '@mailwarden/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ProblemSchema } from '../schemas/problem.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** Fastify's and its plugins' own errors, by the code they carry, to our catalogue. */
const frameworkCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'bad_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'bad_request',
  FST_ERR_CTP_INVALID_TYPE: 'bad_request',
  FST_ERR_VALIDATION: 'validation_failed',
  FST_ERR_NOT_FOUND: 'route_not_found',
};

const statusCodes: Record<number, ErrorCode> = {
  400: 'bad_request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'service_unavailable',
};

/** Maps anything thrown in a request to an AppError; unknown errors become `internal`. */
export function toAppError(err: FastifyError | Error): AppError {
  if (err instanceof AppError) return err;
  const fastifyError = err as FastifyError;
  if (fastifyError.validation) {
    const context = fastifyError.validationContext ?? 'body';
    const errors: FieldProblem[] = fastifyError.validation.map((v) => {
      const missing = (v.params as { missingProperty?: string }).missingProperty;
      const extra = (v.params as { additionalProperty?: string }).additionalProperty;
      const path = `${v.instancePath.replaceAll('/', '.')}${missing ? `.${missing}` : ''}${extra ? `.${extra}` : ''}`;
      const message = extra ? 'is not a known field' : (v.message ?? 'is invalid');
      return { location: `${context}${path}`, message };
    });
    return new AppError('validation_failed', {
      detail: errors.map((e) => `${e.location} ${e.message}`).join('; '),
      errors,
    });
  }
  const mapped = fastifyError.code ? frameworkCodes[fastifyError.code] : undefined;
  const status = fastifyError.statusCode;
  const code = mapped ?? (status && status < 500 ? (statusCodes[status] ?? 'bad_request') : undefined);
  if (code) {
    // A SyntaxError from the JSON parser says where the body broke; that is safe and useful to show.
    return new AppError(code, { detail: fastifyError.message, cause: err });
  }
  return new AppError('internal', { cause: err });
}

export function problemBody(error: AppError, request: FastifyRequest) {
  return {
    type: `/problems/${error.code}`,
    title: error.title,
    status: error.status,
    // 5xx details are internals: they go to the log, never to the client.
    ...(error.status < 500 && error.detail ? { detail: error.detail } : {}),
    instance: request.url.split('?')[0],
    code: error.code,
    requestId: String(request.id),
    ...(error.errors ? { errors: error.errors } : {}),
    ...(error.extensions ?? {}),
  };
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, error: AppError) {
  return reply.code(error.status).type(PROBLEM_CONTENT_TYPE).send(problemBody(error, request));
}

async function problemDetails(app: FastifyInstance) {
  app.addSchema(ProblemSchema);

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const error = toAppError(err);
    if (error.status >= 500) {
      request.log.error({ err }, 'request failed');
    } else {
      request.log.info({ code: error.code, detail: error.detail }, 'request refused');
    }
    return sendProblem(reply, request, error);
  });

  app.setNotFoundHandler((request, reply) => {
    const detail = `no route for ${request.method} ${request.url.split('?')[0]}`;
    return sendProblem(reply, request, new AppError('route_not_found', { detail }));
  });

  // Each problem type is a URI reference that resolves here and explains itself (RFC 9457 §3.1.1).
  app.get(
    '/problems/:code',
    { schema: { hide: true }, config: { auth: 'public', rateLimit: false } },
    async (request, reply) => {
      const { code } = request.params as { code: string };
      const entry = (errorCatalogue as Record<string, { status: number; title: string }>)[code];
      if (!entry)
        return sendProblem(reply, request, new AppError('not_found', { detail: `no problem type ${code}` }));
      return { code, ...entry };
    },
  );
}

export default fp(problemDetails, { name: 'problem-details' });

import { Type } from 'typebox';

/** RFC 9457 problem details, with our stable `code` and the request id. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'URI reference naming the problem type: /problems/<code>' }),
    title: Type.String(),
    status: Type.Integer({ minimum: 400, maximum: 599 }),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    code: Type.String({ description: 'Stable, machine-readable error code (see docs/errors.md)' }),
    requestId: Type.String(),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          location: Type.String({ description: 'body.name, query.limit, params.id, header.authorization' }),
          message: Type.String(),
        }),
      ),
    ),
  },
  { $id: 'Problem', additionalProperties: true },
);

/** The error responses every route may answer, referenced from each route's `response`. */
export function problemResponses<const S extends readonly number[]>(...statuses: S) {
  return Object.fromEntries(
    statuses.map((status) => [status, Type.Ref('Problem', { description: 'Problem details (RFC 9457)' })]),
  ) as Record<S[number], ReturnType<typeof Type.Ref>>;
}

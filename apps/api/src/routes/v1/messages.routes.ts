import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type MessageCheckReport, MessageTooLargeError } from '@mailwarden/checks';
import { AppError, type FieldProblem, parseIp } from '@mailwarden/core';
import { type TSchema, Type } from 'typebox';
import type { MessageEnvelope } from '../../container.ts';
import { EnvelopeQuery, MessageCheckResponse, MessageJsonBody } from '../../schemas/messages.ts';
import { problemResponses } from '../../schemas/problem.ts';

export interface MessagesRoutesOptions {
  checkMessage(raw: Uint8Array, envelope: MessageEnvelope): Promise<MessageCheckReport>;
  /** MESSAGE_CHECK_MAX_BYTES. */
  maxBytes: number;
  /** MESSAGE_CHECK_PER_MINUTE, per client address. */
  perMinute: number;
}

const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}[\r\n]*$/;

type Envelope = { clientIp?: string; helo?: string; mailFrom?: string };

function envelopeOf(fields: Envelope, where: 'query' | 'body', problems: FieldProblem[]): MessageEnvelope {
  if (fields.clientIp !== undefined && parseIp(fields.clientIp) === undefined)
    problems.push({ location: `${where}.clientIp`, message: 'must be an IPv4 or IPv6 address' });
  return {
    ...(fields.clientIp !== undefined ? { clientIp: fields.clientIp } : {}),
    ...(fields.helo !== undefined ? { helo: fields.helo } : {}),
    ...(fields.mailFrom !== undefined ? { mailFrom: fields.mailFrom } : {}),
  };
}

/** The raw message and envelope from either body form, or a 400/415 saying what is wrong. */
function messageInput(body: unknown, query: Envelope): { raw: Uint8Array; envelope: MessageEnvelope } {
  const problems: FieldProblem[] = [];
  let raw: Uint8Array;
  let envelope: MessageEnvelope;
  if (Buffer.isBuffer(body)) {
    raw = body;
    envelope = envelopeOf(query, 'query', problems);
  } else if (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as { message?: unknown }).message === 'string'
  ) {
    const json = body as Envelope & { message: string };
    if (!BASE64.test(json.message)) problems.push({ location: 'body.message', message: 'must be base64' });
    raw = Buffer.from(json.message, 'base64');
    envelope = envelopeOf({ ...query, ...json }, 'body', problems);
  } else {
    throw new AppError('unsupported_media_type', {
      detail: 'send the message as message/rfc822, or as application/json {"message": "<base64>"}',
    });
  }
  if (raw.byteLength === 0 && problems.length === 0)
    problems.push({ location: 'body', message: 'the message is empty' });
  if (problems.length > 0) throw new AppError('validation_failed', { errors: problems });
  return { raw, envelope };
}

/**
 * The message content check (docs/message-check.md): SPF, DKIM, ARC and DMARC as a receiver
 * would verify them, and every URL and domain of the message against the domain blocklists.
 * Nothing is stored. The body is the raw message (`message/rfc822`) with the envelope in the
 * query, or JSON with the message base64-encoded.
 */
export const messagesRoutes: FastifyPluginAsyncTypebox<MessagesRoutesOptions> = async (app, options) => {
  // base64 is 4 bytes per 3, plus room for the JSON around it; the exact cap is checked on the bytes.
  const bodyLimit = Math.ceil(options.maxBytes / 3) * 4 + 64 * 1024;
  app.addContentTypeParser('message/rfc822', { parseAs: 'buffer', bodyLimit }, (_request, body, done) =>
    done(null, body),
  );

  app.post(
    '/messages/check',
    {
      bodyLimit,
      schema: {
        operationId: 'checkMessage',
        tags: ['messages'],
        summary:
          'Check one message as a receiving gateway would: SPF, DKIM, ARC, DMARC and blocklisted domains',
        description:
          'Send the raw message as `message/rfc822` (envelope in the query: `?clientIp=192.0.2.1&helo=mail.example&mailFrom=bounce@example`) or as `application/json` `{"message":"<base64>","clientIp":"192.0.2.1"}`. Without `clientIp` SPF is not evaluated; without `mailFrom` the Return-Path is used. The answer is a verdict with its evidence; nothing is stored.',
        querystring: EnvelopeQuery,
        body: {
          content: {
            'application/json': { schema: MessageJsonBody },
            'message/rfc822': {
              schema: Type.Unknown({ description: 'The raw RFC 5322 message, bytes as received' }),
            },
          },
        } as unknown as TSchema,
        response: { 200: MessageCheckResponse, ...problemResponses(400, 401, 403, 413, 415, 429) },
      },
      config: {
        auth: 'session-or-api-key',
        permission: 'domains.read',
        rateLimit: { max: options.perMinute, timeWindow: 60_000 },
      },
    },
    async (request) => {
      const { raw, envelope } = messageInput(request.body, request.query);
      try {
        return await options.checkMessage(raw, envelope);
      } catch (err) {
        if (err instanceof MessageTooLargeError)
          throw new AppError('payload_too_large', {
            detail: err.message,
            extensions: { maxBytes: err.maxBytes },
          });
        throw err;
      }
    },
  );
};

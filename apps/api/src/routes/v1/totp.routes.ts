import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AuthServices } from '@mailwarden/auth';
import { Type } from 'typebox';
import { principalOf, requestMeta } from '../../plugins/auth.ts';
import { Closed, PasswordInput, RecoveryCodes, TotpCode } from '../../schemas/auth.ts';
import { problemResponses } from '../../schemas/problem.ts';

const Code = TotpCode;

/** Two-factor authentication of the signed-in user (RFC 6238 TOTP). */
export const totpRoutes: FastifyPluginAsyncTypebox<{ auth: AuthServices }> = async (app, { auth }) => {
  const tags = ['two-factor'];
  const config = { auth: 'session' as const, allowRestricted: true };

  app.get(
    '/auth/totp',
    {
      schema: {
        operationId: 'getTotpStatus',
        tags,
        summary: 'Whether 2FA is on, and how many recovery codes are left',
        response: {
          200: Type.Object(
            {
              enabled: Type.Boolean(),
              enrolmentPending: Type.Boolean(),
              recoveryCodesRemaining: Type.Integer(),
            },
            Closed,
          ),
          ...problemResponses(401),
        },
      },
      config,
    },
    async (request) => auth.totp.status(principalOf(request)),
  );

  app.post(
    '/auth/totp/enrolment',
    {
      schema: {
        operationId: 'startTotpEnrolment',
        tags,
        summary: 'Start enrolling an authenticator: returns the otpauth:// URI and a QR code',
        description:
          'Show `qrCodeDataUrl` (an SVG data URL) to scan, or `secret` to type in; then confirm with a first code.',
        response: {
          201: Type.Object(
            {
              secret: Type.String({
                description: 'Base32, 20 bytes',
                examples: ['JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'],
              }),
              otpauthUri: Type.String({
                examples: ['otpauth://totp/Mailwarden:ann%40acme.example?secret=…&issuer=Mailwarden'],
              }),
              qrCodeDataUrl: Type.String({ examples: ['data:image/svg+xml;base64,…'] }),
            },
            Closed,
          ),
          ...problemResponses(401, 409),
        },
      },
      config,
    },
    async (request, reply) => reply.code(201).send(await auth.totp.startEnrolment(principalOf(request))),
  );

  app.post(
    '/auth/totp/enrolment/confirm',
    {
      schema: {
        operationId: 'confirmTotpEnrolment',
        tags,
        summary: 'Switch 2FA on with a first code; returns ten recovery codes, shown this once',
        body: Type.Object({ code: Code }, Closed),
        response: { 200: RecoveryCodes, ...problemResponses(400, 401, 409) },
      },
      config,
    },
    async (request) =>
      auth.totp.confirmEnrolment(principalOf(request), request.body.code, requestMeta(request)),
  );

  app.post(
    '/auth/totp/recovery-codes',
    {
      schema: {
        operationId: 'regenerateRecoveryCodes',
        tags,
        summary: 'Replace the recovery codes (needs a current code); the old ones stop working',
        body: Type.Object({ code: Code }, Closed),
        response: { 200: RecoveryCodes, ...problemResponses(400, 401) },
      },
      config: { auth: 'session' },
    },
    async (request) =>
      auth.totp.regenerateRecoveryCodes(principalOf(request), request.body.code, requestMeta(request)),
  );

  app.post(
    '/auth/totp/disable',
    {
      schema: {
        operationId: 'disableTotp',
        tags,
        summary: 'Switch 2FA off (needs the password; refused while a tenant of the user requires 2FA)',
        body: Type.Object({ password: PasswordInput }, Closed),
        response: { 204: Type.Null(), ...problemResponses(400, 401, 409) },
      },
      config: { auth: 'session' },
    },
    async (request, reply) => {
      await auth.totp.disable(principalOf(request), request.body.password, requestMeta(request));
      return reply.code(204).send(null);
    },
  );
};

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type AuthServices, actorOf, type Principal, type RequestMeta } from '@mailwarden/auth';
import type { ReportMailboxesService } from '@mailwarden/monitoring';
import { Type } from 'typebox';
import { principalOf, requestMeta } from '../../plugins/auth.ts';
import { mailboxPollLimit, mailboxPollRateLimit } from '../../plugins/mailbox-poll-rate-limit.ts';
import { problemResponses } from '../../schemas/problem.ts';
import {
  PollRequested,
  ReportMailbox,
  ReportMailboxCreate,
  ReportMailboxIdParams,
  ReportMailboxPatch,
} from '../../schemas/report-mailboxes.ts';

export interface ReportMailboxesRoutesOptions {
  auth: AuthServices;
  reportMailboxes: ReportMailboxesService;
  /** Hands a poll to the worker now (mailbox uuid); the tick is the backstop. */
  enqueueMailboxPoll(tenantId: string, mailboxId: string): Promise<void>;
}

/**
 * IMAP mailboxes the worker reads report mail from (issue 6 §1c; docs/reports.md "IMAP intake").
 * Writes need an admin: a mailbox's credentials reach the tenant's mail, and Mailwarden moves or
 * flags its messages. The host (and an OAuth token endpoint's host) is vetted by the SSRF guard
 * when saved; the password, the OAuth client secret and the refresh token are sealed and never
 * returned, nor written to the audit log.
 */
export const reportMailboxesRoutes: FastifyPluginAsyncTypebox<ReportMailboxesRoutesOptions> = async (
  app,
  { auth, reportMailboxes, enqueueMailboxPoll },
) => {
  const tags = ['reports'];
  const audit = (
    principal: Principal,
    meta: RequestMeta,
    action: string,
    id: string,
    details: Record<string, unknown> = {},
  ) =>
    auth.audit.recordInTenants([principal.tenantId], {
      action,
      actor: actorOf(principal),
      target: { type: 'report_mailbox', id },
      ...meta,
      details,
    });

  app.post(
    '/reports/mailboxes',
    {
      schema: {
        operationId: 'createReportMailbox',
        tags,
        summary: 'Read DMARC and TLS-RPT report mail from an IMAP mailbox (owner, admin)',
        description:
          'The worker polls the folder, stores each message before it moves it (or flags it), and parses it like mailed or uploaded reports. The first poll is at the next minute; `GET /v1/reports/mailboxes/{id}` shows how it went. Example: `{"host":"imap.example.com","security":"tls","username":"dmarc@example.com","password":"…","afterStore":"move","moveTo":"Mailwarden/Processed"}`. Microsoft 365 with OAuth 2.0: `{"host":"outlook.office365.com","security":"tls","username":"dmarc@contoso.com","auth":"oauth2","tokenUrl":"https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token","clientId":"…","clientSecret":"…","refreshToken":"…","scope":"https://outlook.office365.com/IMAP.AccessAsUser.All offline_access"}`',
        body: ReportMailboxCreate,
        response: { 201: ReportMailbox, ...problemResponses(400, 401, 403) },
      },
      config: { auth: 'session-or-api-key', permission: 'report_mailboxes.manage' },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const created = await reportMailboxes.create(principal.tenantId, request.body);
      // Settings only: no password, client secret or refresh token.
      await audit(principal, requestMeta(request), 'report_mailbox.created', created.id, {
        host: created.host,
        port: created.port,
        username: created.username,
        auth: created.auth,
      });
      return reply.code(201).header('location', `/v1/reports/mailboxes/${created.id}`).send(created);
    },
  );

  app.get(
    '/reports/mailboxes',
    {
      schema: {
        operationId: 'listReportMailboxes',
        tags,
        summary: 'IMAP mailboxes report mail is read from, with the outcome of their last poll',
        response: { 200: Type.Array(ReportMailbox), ...problemResponses(401, 403) },
      },
      config: { auth: 'session-or-api-key', permission: 'domains.read' },
    },
    async (request) => reportMailboxes.list(principalOf(request).tenantId),
  );

  app.get(
    '/reports/mailboxes/:id',
    {
      schema: {
        operationId: 'getReportMailbox',
        tags,
        summary: 'One report mailbox (never its password, client secret or refresh token)',
        params: ReportMailboxIdParams,
        response: { 200: ReportMailbox, ...problemResponses(401, 403, 404) },
      },
      config: { auth: 'session-or-api-key', permission: 'domains.read' },
    },
    async (request) => reportMailboxes.get(principalOf(request).tenantId, request.params.id),
  );

  app.patch(
    '/reports/mailboxes/:id',
    {
      schema: {
        operationId: 'updateReportMailbox',
        tags,
        summary: 'Change a report mailbox; new connection settings are tried at the next minute',
        description:
          "Fields left out stay as they are; a new `password`, `clientSecret` or `refreshToken` replaces the stored one. A new `auth` needs that kind's fields (`password`; or `tokenUrl`, `clientId`, `refreshToken`) and deletes the other kind's secrets.",
        params: ReportMailboxIdParams,
        body: ReportMailboxPatch,
        response: { 200: ReportMailbox, ...problemResponses(400, 401, 403, 404) },
      },
      config: { auth: 'session-or-api-key', permission: 'report_mailboxes.manage' },
    },
    async (request) => {
      const principal = principalOf(request);
      const updated = await reportMailboxes.update(principal.tenantId, request.params.id, request.body);
      // The field names only: a new password, client secret or refresh token is never audited.
      await audit(principal, requestMeta(request), 'report_mailbox.updated', updated.id, {
        fields: Object.keys(request.body),
      });
      return updated;
    },
  );

  app.delete(
    '/reports/mailboxes/:id',
    {
      schema: {
        operationId: 'deleteReportMailbox',
        tags,
        summary: 'Stop reading a mailbox (reports already stored stay)',
        params: ReportMailboxIdParams,
        response: { 204: Type.Null(), ...problemResponses(401, 403, 404) },
      },
      config: { auth: 'session-or-api-key', permission: 'report_mailboxes.manage' },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      await reportMailboxes.remove(principal.tenantId, request.params.id);
      await audit(principal, requestMeta(request), 'report_mailbox.deleted', request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/reports/mailboxes/:id/poll',
    {
      schema: {
        operationId: 'pollReportMailbox',
        tags,
        summary: 'Poll a report mailbox now',
        description: `The poll runs in the worker within seconds; read the mailbox for its outcome. At most ${mailboxPollLimit.max} requests a minute.`,
        params: ReportMailboxIdParams,
        response: { 202: PollRequested, ...problemResponses(400, 401, 403, 404, 429) },
      },
      config: { auth: 'session-or-api-key', permission: 'report_mailboxes.manage' },
      // The same counter as GraphQL's pollReportMailbox (per client address, before authentication).
      onRequest: mailboxPollRateLimit(app),
    },
    async (request, reply) => {
      const { tenantId } = principalOf(request);
      const mailboxId = await reportMailboxes.requestPoll(tenantId, request.params.id);
      await enqueueMailboxPoll(tenantId, mailboxId);
      return reply.code(202).send({ id: request.params.id });
    },
  );
};

import type { ReportMailboxesService } from '@mailwarden/monitoring';
import type { MercuriusContext } from 'mercurius';
import { mailboxPollLimiter } from '../plugins/mailbox-poll-rate-limit.ts';
import { ReportMailboxIdParams } from '../schemas/report-mailboxes.ts';
import type { GraphqlModule } from './modules.ts';
import { caller, check } from './monitoring.resolvers.ts';

/**
 * IMAP report mailboxes over GraphQL (docs/reports.md "IMAP intake"): REST's reads and its "poll
 * now", through the same service calls, permissions, limit and error codes. The service's view is
 * the REST body as it is: it never holds the password, the OAuth client secret or the refresh
 * token (only `has…` flags), so no resolver here can leak one. REST lists a tenant's mailboxes
 * (at most 10) unpaged, oldest first, and so does `reportMailboxes`.
 */
export interface ReportMailboxesModuleOptions {
  reportMailboxes: ReportMailboxesService;
  /** Hands a poll to the worker now (mailbox uuid), as the REST route does. */
  enqueueMailboxPoll(tenantId: string, mailboxId: string): Promise<void>;
}

export function reportMailboxesModule(options: ReportMailboxesModuleOptions): GraphqlModule {
  const { reportMailboxes, enqueueMailboxPoll } = options;

  const Query = {
    reportMailboxes: (_: unknown, __: unknown, ctx: MercuriusContext) =>
      reportMailboxes.list(caller(ctx, 'domains.read').tenantId),
    reportMailbox: (_: unknown, args: { id: string }, ctx: MercuriusContext) => {
      const { tenantId } = caller(ctx, 'domains.read');
      // REST's params schema first (`validation_failed`), then the service: a malformed or foreign
      // id is `not_found`.
      check(args.id, ReportMailboxIdParams.properties.id, 'id');
      return reportMailboxes.get(tenantId, args.id);
    },
  };

  const Mutation = {
    // REST's order: the limit (onRequest, per address), the caller, the id, then the service.
    pollReportMailbox: async (_: unknown, args: { id: string }, ctx: MercuriusContext) => {
      await mailboxPollLimiter(ctx.app)(ctx.reply.request);
      const { tenantId } = caller(ctx, 'report_mailboxes.manage');
      check(args.id, ReportMailboxIdParams.properties.id, 'id');
      const mailboxId = await reportMailboxes.requestPoll(tenantId, args.id);
      await enqueueMailboxPoll(tenantId, mailboxId);
      return { id: args.id };
    },
  };

  return {
    resolvers: { Query, Mutation } as unknown as GraphqlModule['resolvers'],
    loaders: {},
  };
}

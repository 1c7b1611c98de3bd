import { isAppError } from '@mailwarden/core';
import type { DomainView, ReportsService, WindowOptions } from '@mailwarden/monitoring';
import type { MercuriusContext } from 'mercurius';
import type { MonitoringApi } from '../monitoring.ts';
import { DomainIdParams, ReportIdParams, ReportListQuery, WindowQuery } from '../schemas/reports.ts';
import type { GraphqlModule } from './modules.ts';
import {
  caller,
  check,
  connection,
  distinct,
  groupBy,
  pageArgs,
  type Query,
  uuidsOf,
} from './monitoring.resolvers.ts';

/**
 * Report analytics over GraphQL (issue 6 §4): the reports service REST reads, with its defaults
 * and its refusals. Domain.reportSummary and Domain.enforcementAdvice are loaders: every domain of
 * a query level is summarised by one batch call per distinct window, grouped by domain in SQL
 * (reports.service.ts), so a dashboard of 100 domains costs the statements of one. The names of
 * source addresses are one more batch per query level, read from the shared cache.
 */
export interface ReportsModuleOptions {
  reports: ReportsService;
  /** `Report.domain`: domains of the caller's tenant by uuid. */
  domains: Pick<MonitoringApi['domains'], 'getMany'>;
  /** INBOUND_DOMAIN: the domain of the report addresses. */
  inboundDomain: string;
}

interface WindowArgs {
  from?: string | null;
  to?: string | null;
}

/** Checks from/to against REST's query schema; the service checks that they are days in order. */
function windowOptions(args: WindowArgs): WindowOptions {
  const from = args.from ?? undefined;
  const to = args.to ?? undefined;
  if (from !== undefined) check(from, WindowQuery.properties.from, 'from');
  if (to !== undefined) check(to, WindowQuery.properties.to, 'to');
  // Locations name the GraphQL arguments (`from`), not REST's query string (`query.from`).
  return { from, to, locationPrefix: '' };
}

/**
 * One batch call per distinct window (a dashboard asks the same one for every domain). A window
 * that is refused fails its own fields only, with its code; other windows of the query still answer.
 */
async function perWindow<T>(
  queries: Query<WindowArgs, DomainView>[],
  fetch: (domainIds: string[], window: WindowOptions) => Promise<Map<string, T>>,
): Promise<unknown[]> {
  const results: unknown[] = new Array(queries.length);
  const key = (q: Query<WindowArgs, DomainView>) => `${q.params.from ?? ''}\u0000${q.params.to ?? ''}`;
  for (const indexes of groupBy(queries, key).values()) {
    try {
      const window = windowOptions(queries[indexes[0]!]!.params);
      const ids = uuidsOf(indexes.map((i) => queries[i]!.obj.id));
      const found = await fetch(distinct(ids), window);
      indexes.forEach((queryIndex, n) => {
        const id = ids[n];
        results[queryIndex] = id ? (found.get(id) ?? null) : null;
      });
    } catch (err) {
      if (!isAppError(err)) throw err;
      for (const queryIndex of indexes) results[queryIndex] = err;
    }
  }
  return results;
}

export function reportsModule(options: ReportsModuleOptions): GraphqlModule {
  const { reports, domains, inboundDomain } = options;

  const Query = {
    reports: async (
      _: unknown,
      args: {
        kind?: 'aggregate' | 'tls' | null;
        domainId?: string | null;
        first?: number;
        after?: string | null;
      },
      ctx: MercuriusContext,
    ) => {
      const principal = caller(ctx, 'domains.read');
      const page = pageArgs(args);
      if (args.domainId != null) check(args.domainId, DomainIdParams.properties.id, 'domainId');
      if (page.cursor !== undefined) check(page.cursor, ReportListQuery.properties.cursor, 'after');
      const list = await reports.list(principal.tenantId, {
        ...(args.kind ? { kind: args.kind } : {}),
        ...(args.domainId != null ? { domainId: args.domainId } : {}),
        ...page,
      });
      return connection(list);
    },
    reportUpload: (_: unknown, args: { id: string }, ctx: MercuriusContext) => {
      const principal = caller(ctx, 'domains.read');
      check(args.id, ReportIdParams.properties.id, 'id');
      return reports.status(principal.tenantId, args.id);
    },
    reportAddress: async (_: unknown, __: unknown, ctx: MercuriusContext) => {
      const token = await reports.reportAddressToken(caller(ctx, 'domains.read').tenantId);
      const address = `${token}@${inboundDomain}`;
      return {
        address,
        rua: `mailto:${address}`,
        tlsRpt: `v=TLSRPTv1; rua=mailto:${address}`,
        authorizationRecord: `*._report._dmarc.${inboundDomain}. TXT "v=DMARC1"`,
      };
    },
  };

  /** `ReportSource.name`, `FailingSource.name`: one read of the name cache for the query level. */
  const nameLoader = async (queries: Query<unknown, { ip: string | null }>[], ctx: MercuriusContext) => {
    caller(ctx, 'domains.read');
    const ips = queries.map((q) => q.obj.ip);
    const names = await reports.sourceNames(distinct(ips));
    return ips.map((ip) => (ip ? (names.get(ip) ?? null) : null));
  };

  const loaders = {
    Domain: {
      reportSummary: async (queries: Query<WindowArgs>[], ctx: MercuriusContext) => {
        const { tenantId } = caller(ctx, 'domains.read');
        return perWindow(queries, (ids, window) => reports.summariesForDomains(tenantId, ids, window));
      },
      enforcementAdvice: async (queries: Query<WindowArgs>[], ctx: MercuriusContext) => {
        const { tenantId } = caller(ctx, 'domains.read');
        return perWindow(queries, (ids, window) =>
          reports.enforcementAdviceForDomains(tenantId, ids, window),
        );
      },
    },
    Report: {
      domain: async (queries: Query<unknown, { domainId: string | null }>[], ctx: MercuriusContext) => {
        const { tenantId } = caller(ctx, 'domains.read');
        const ids = uuidsOf(queries.map((q) => q.obj.domainId));
        const found = await domains.getMany(tenantId, distinct(ids));
        return ids.map((id) => (id ? (found.get(id) ?? null) : null));
      },
    },
    ReportSource: { name: nameLoader },
    FailingSource: { name: nameLoader },
  };

  return {
    resolvers: { Query } as unknown as GraphqlModule['resolvers'],
    loaders: loaders as unknown as GraphqlModule['loaders'],
  };
}

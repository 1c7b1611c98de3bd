import {
  type Authenticator,
  assertCan,
  assertUnrestricted,
  type Permission,
  type Principal,
} from '@mailwarden/auth';
import { AppError, decodeId, encodeId, type FieldProblem, notFound } from '@mailwarden/core';
import { type EventType, eventTypes } from '@mailwarden/db';
import type {
  DomainInput,
  DomainView,
  EventView,
  FindingsService,
  FindingView,
  MonitoringSettingsPatch,
} from '@mailwarden/monitoring';
// mercurius is CommonJS: its helpers are reachable through the default export only under plain Node.
import mercurius, { type MercuriusContext } from 'mercurius';
import { type TSchema, Type } from 'typebox';
import { Value } from 'typebox/value';
import { type LiveEventRef, liveEventsTopic } from '../live-events.ts';
import type { MonitoringApi } from '../monitoring.ts';
import { requestMeta } from '../plugins/auth.ts';
import { scanNowLimiter } from '../plugins/scan-rate-limit.ts';
import { MonitoringSettingsPatch as MonitoringSettingsPatchBody } from '../schemas/failure-reports.ts';
import { AddDomainBody, CreateMaintenanceWindowBody, UpdateDomainBody } from '../schemas/monitoring.ts';
import type { GraphqlModule } from './modules.ts';

/**
 * Monitoring over GraphQL for partner dashboards: the same services, permissions, audit entries and
 * error codes as REST (through MonitoringApi), with loaders for everything nested under a domain,
 * a finding or an event. Each loader receives every parent of one query level at once and makes one
 * service call (one SQL statement) for all of them, filtered by the caller's tenant: a foreign id
 * in a parent simply finds nothing.
 */
const FIRST_MAX = 200;
const RECENT_EVENTS_MAX = 50;
const DEFAULT_HISTORY_DAYS = 90;
const DateTime = Type.String({ format: 'date-time' });

export function caller(ctx: MercuriusContext, permission: Permission): Principal {
  const principal = ctx.principal;
  if (!principal)
    throw new AppError('unauthenticated', { detail: 'send Authorization: Bearer <access token or API key>' });
  assertUnrestricted(principal);
  assertCan(principal, permission);
  return principal;
}

/** Checks arguments against the REST schemas, so both transports refuse the same input alike. */
export function check(value: unknown, schema: TSchema, location: string): void {
  const first = Value.Errors(schema, value)[0];
  if (first) {
    const path = (first as { instancePath?: string }).instancePath?.replaceAll('/', '.') ?? '';
    const problem: FieldProblem = { location: `${location}${path}`, message: first.message ?? 'is invalid' };
    throw new AppError('validation_failed', {
      detail: `${problem.location} ${problem.message}`,
      errors: [problem],
    });
  }
}

export function pageArgs(args: { first?: number | null; after?: string | null }) {
  const first = args.first ?? 50;
  if (!Number.isInteger(first) || first < 1 || first > FIRST_MAX)
    throw new AppError('validation_failed', {
      detail: `first must be between 1 and ${FIRST_MAX}`,
      errors: [{ location: 'first', message: `must be between 1 and ${FIRST_MAX}` }],
    });
  if (args.after != null && args.after.length > 64)
    throw new AppError('validation_failed', { errors: [{ location: 'after', message: 'is not a cursor' }] });
  return { limit: first, cursor: args.after ?? undefined };
}

export function connection<T extends { id: string }>(page: { items: T[]; nextCursor: string | null }) {
  return {
    nodes: page.items,
    pageInfo: {
      endCursor: page.nextCursor ?? page.items.at(-1)?.id ?? null,
      hasNextPage: page.nextCursor !== null,
    },
  };
}

/** GraphQL nullable inputs arrive as null where REST would leave a field out. */
function withoutNulls<T>(value: T): T {
  if (Array.isArray(value) || typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => [k, withoutNulls(v)]),
  ) as T;
}

function eventTypeOf(type: string | null | undefined, location: string): EventType | undefined {
  if (type == null) return undefined;
  if (!(eventTypes as readonly string[]).includes(type))
    throw new AppError('validation_failed', {
      detail: `${location} is not an event type`,
      errors: [{ location, message: `must be one of ${eventTypes.join(', ')}` }],
    });
  return type as EventType;
}

/** One event by uuid, read under the subscriber's tenant (RLS). */
function eventById(findings: FindingsService, tenantId: string, eventId: string): Promise<EventView> {
  return findings.getEvent(tenantId, eventId);
}

type Resolver<A> = (parent: unknown, args: A, ctx: MercuriusContext) => unknown;
const resolver = <A>(fn: Resolver<A>) => fn;
/** What a Mercurius loader receives for each parent: the parent object and the field's arguments. */
export type Query<P = Record<string, never>, O = DomainView> = { obj: O; params: P };

export function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, number[]> {
  const groups = new Map<K, number[]>();
  items.forEach((item, index) => {
    const k = key(item);
    const list = groups.get(k) ?? [];
    list.push(index);
    groups.set(k, list);
  });
  return groups;
}

export const uuidsOf = (ids: readonly (string | null)[]) =>
  ids.map((id) => (id ? (decodeId('dom', id) ?? null) : null));
export const distinct = (ids: readonly (string | null)[]) => [
  ...new Set(ids.filter((id): id is string => !!id)),
];

export function monitoringModule(monitoring: MonitoringApi, authenticator: Authenticator): GraphqlModule {
  const { domains, findings } = monitoring;
  const meta = (ctx: MercuriusContext) => requestMeta(ctx.reply.request);

  /** `Finding.domain` and `Event.domain`: one getMany for every parent of the query level. */
  const domainLoader = async (
    queries: Query<unknown, { domainId: string | null }>[],
    ctx: MercuriusContext,
  ) => {
    const principal = caller(ctx, 'domains.read');
    const ids = uuidsOf(queries.map((q) => q.obj.domainId));
    const found = await domains.getMany(principal.tenantId, distinct(ids));
    return ids.map((id) => (id ? (found.get(id) ?? null) : null));
  };

  const Query = {
    domains: resolver<{
      filter?: { search?: string | null; verified?: boolean | null; grade?: string | null } | null;
      first?: number;
      after?: string | null;
    }>(async (_, args, ctx) => {
      const principal = caller(ctx, 'domains.read');
      const filter = withoutNulls(args.filter ?? {}) as {
        search?: string;
        verified?: boolean;
        grade?: string;
      };
      if (filter.search !== undefined) check(filter.search, Type.String({ maxLength: 253 }), 'filter.search');
      if (filter.grade !== undefined) check(filter.grade, Type.String({ maxLength: 2 }), 'filter.grade');
      return connection(await domains.list(principal.tenantId, { ...filter, ...pageArgs(args) }));
    }),
    domain: resolver<{ id: string }>((_, args, ctx) =>
      domains.get(caller(ctx, 'domains.read').tenantId, args.id),
    ),
    findings: resolver<{
      filter?: {
        domainId?: string | null;
        state?: 'open' | 'resolved' | null;
        minSeverity?: string | null;
        code?: string | null;
      } | null;
      first?: number;
      after?: string | null;
    }>(async (_, args, ctx) => {
      const principal = caller(ctx, 'domains.read');
      const filter = withoutNulls(args.filter ?? {}) as Parameters<FindingsService['listFindings']>[1];
      if (filter?.code !== undefined) check(filter.code, Type.String({ maxLength: 100 }), 'filter.code');
      return connection(await findings.listFindings(principal.tenantId, { ...filter, ...pageArgs(args) }));
    }),
    finding: resolver<{ id: string }>((_, args, ctx) =>
      findings.getFinding(caller(ctx, 'domains.read').tenantId, args.id),
    ),
    events: resolver<{
      filter?: { domainId?: string | null; type?: string | null } | null;
      first?: number;
      after?: string | null;
    }>(async (_, args, ctx) => {
      const principal = caller(ctx, 'domains.read');
      const page = await findings.listEvents(principal.tenantId, {
        domainId: args.filter?.domainId ?? undefined,
        type: eventTypeOf(args.filter?.type, 'filter.type'),
        ...pageArgs(args),
      });
      return connection(page);
    }),
    runs: resolver<{ domainId: string; first?: number; after?: string | null }>(async (_, args, ctx) => {
      const principal = caller(ctx, 'domains.read');
      return connection(await findings.listRuns(principal.tenantId, args.domainId, pageArgs(args)));
    }),
    maintenanceWindows: resolver((_, __, ctx) =>
      findings.listMaintenanceWindows(caller(ctx, 'domains.read').tenantId),
    ),
    monitoringSettings: resolver((_, __, ctx) => monitoring.settings(caller(ctx, 'tenant.read'))),
  };

  const Mutation = {
    addDomain: resolver<{ input: { name: string } & DomainInput }>(async (_, args, ctx) => {
      const principal = caller(ctx, 'domains.write');
      const input = withoutNulls(args.input);
      check(input, AddDomainBody, 'input');
      const { name, ...rest } = input;
      return monitoring.addDomain(principal, meta(ctx), name, rest);
    }),
    updateDomain: resolver<{ id: string; input: DomainInput & { clearAlertThreshold?: boolean | null } }>(
      async (_, args, ctx) => {
        const principal = caller(ctx, 'domains.write');
        const { clearAlertThreshold, ...input } = withoutNulls(args.input);
        const body: DomainInput = clearAlertThreshold ? { ...input, alertThreshold: null } : input;
        check(body, UpdateDomainBody, 'input');
        return monitoring.updateDomain(principal, meta(ctx), args.id, body);
      },
    ),
    deleteDomain: resolver<{ id: string }>(async (_, args, ctx) => {
      await monitoring.deleteDomain(caller(ctx, 'domains.write'), meta(ctx), args.id);
      return true;
    }),
    verifyDomain: resolver<{ id: string }>((_, args, ctx) =>
      monitoring.verifyDomain(caller(ctx, 'domains.write'), meta(ctx), args.id),
    ),
    scanDomain: resolver<{ id: string }>(async (_, args, ctx) => {
      const principal = caller(ctx, 'domains.write');
      // The same per-domain counter as REST: aliases in one document count one each.
      await scanNowLimiter(ctx.app)(principal.tenantId, args.id);
      return monitoring.scanDomain(principal, args.id);
    }),
    muteFinding: resolver<{ id: string; until?: string | null }>((_, args, ctx) => {
      const principal = caller(ctx, 'findings.manage');
      if (args.until != null) check(args.until, DateTime, 'until');
      return monitoring.muteFinding(principal, meta(ctx), args.id, args.until ?? null);
    }),
    acknowledgeFinding: resolver<{ id: string; until?: string | null }>((_, args, ctx) => {
      const principal = caller(ctx, 'findings.manage');
      if (args.until != null) check(args.until, DateTime, 'until');
      return monitoring.acknowledgeFinding(principal, meta(ctx), args.id, args.until ?? undefined);
    }),
    unacknowledgeFinding: resolver<{ id: string }>((_, args, ctx) =>
      monitoring.unacknowledgeFinding(caller(ctx, 'findings.manage'), meta(ctx), args.id),
    ),
    createMaintenanceWindow: resolver<{
      input: { domainId?: string | null; startsAt: string; endsAt: string; reason?: string | null };
    }>((_, args, ctx) => {
      const principal = caller(ctx, 'maintenance.manage');
      const input = withoutNulls(args.input);
      check(input, CreateMaintenanceWindowBody, 'input');
      return monitoring.createMaintenanceWindow(principal, meta(ctx), {
        ...input,
        reason: input.reason ?? undefined,
      });
    }),
    deleteMaintenanceWindow: resolver<{ id: string }>(async (_, args, ctx) => {
      await monitoring.deleteMaintenanceWindow(caller(ctx, 'maintenance.manage'), meta(ctx), args.id);
      return true;
    }),
    updateMonitoringSettings: resolver<{ input: MonitoringSettingsPatch }>((_, args, ctx) => {
      const principal = caller(ctx, 'tenant.settings.update');
      const input = withoutNulls(args.input);
      check(input, MonitoringSettingsPatchBody, 'input');
      return monitoring.updateSettings(principal, meta(ctx), input);
    }),
  };

  const Subscription = {
    events: {
      subscribe: mercurius.withFilter(
        async (
          _root: unknown,
          args: { domainId?: string | null; types?: string[] | null },
          ctx: MercuriusContext,
        ) => {
          const principal = caller(ctx, 'domains.read');
          for (const type of args.types ?? []) eventTypeOf(type, 'types');
          return ctx.pubsub.subscribe(liveEventsTopic(principal.tenantId));
        },
        (payload: LiveEventRef, args: { domainId?: string | null; types?: string[] | null }) => {
          if (args.domainId && payload.domainId !== decodeId('dom', args.domainId)) return false;
          if (args.types?.length && !args.types.includes(payload.type)) return false;
          return true;
        },
      ),
      // The message names the event; it is read under the subscriber's own tenant, after checking
      // that the connection's credential still holds (a revoked key or ended session stops here).
      resolve: async (payload: LiveEventRef, _args: unknown, ctx: MercuriusContext) => {
        const principal = await authenticator.authenticate(ctx.authorization, 'session-or-api-key');
        assertCan(principal, 'domains.read');
        if (principal.tenantId !== payload.tenantId)
          throw notFound('event', encodeId('evt', payload.eventId));
        return eventById(findings, principal.tenantId, payload.eventId);
      },
    },
  };

  const loaders = {
    Domain: {
      openFindings: async (queries: Query[], ctx: MercuriusContext) => {
        const principal = caller(ctx, 'domains.read');
        const ids = uuidsOf(queries.map((q) => q.obj.id));
        const found = await findings.openFindingsByDomain(principal.tenantId, distinct(ids));
        return ids.map((id) => (id ? (found.get(id) ?? []) : []));
      },
      postureHistory: async (queries: Query<{ since?: string | null }>[], ctx: MercuriusContext) => {
        const principal = caller(ctx, 'domains.read');
        const results: unknown[] = new Array(queries.length);
        // One statement per distinct `since` (a dashboard asks the same one for every domain).
        for (const [since, indexes] of groupBy(queries, (q) => q.params.since ?? null)) {
          if (since !== null) check(since, DateTime, 'since');
          const from = since ? new Date(since) : new Date(Date.now() - DEFAULT_HISTORY_DAYS * 86_400_000);
          const ids = uuidsOf(indexes.map((i) => queries[i]!.obj.id));
          const found = await findings.postureHistoryByDomain(principal.tenantId, distinct(ids), from);
          indexes.forEach((queryIndex, n) => {
            const id = ids[n];
            results[queryIndex] = id ? (found.get(id) ?? []) : [];
          });
        }
        return results;
      },
      recentEvents: async (queries: Query<{ limit?: number | null }>[], ctx: MercuriusContext) => {
        const principal = caller(ctx, 'domains.read');
        const results: unknown[] = new Array(queries.length);
        for (const [limit, indexes] of groupBy(queries, (q) => q.params.limit ?? 10)) {
          if (!Number.isInteger(limit) || limit < 1 || limit > RECENT_EVENTS_MAX)
            throw new AppError('validation_failed', {
              detail: `limit must be between 1 and ${RECENT_EVENTS_MAX}`,
              errors: [{ location: 'limit', message: `must be between 1 and ${RECENT_EVENTS_MAX}` }],
            });
          const ids = uuidsOf(indexes.map((i) => queries[i]!.obj.id));
          const found = await findings.recentEventsByDomain(principal.tenantId, distinct(ids), limit);
          indexes.forEach((queryIndex, n) => {
            const id = ids[n];
            results[queryIndex] = id ? (found.get(id) ?? []) : [];
          });
        }
        return results;
      },
    },
    Finding: { domain: domainLoader },
    Event: { domain: domainLoader },
  };

  return {
    resolvers: {
      Query,
      Mutation,
      Subscription,
      Domain: {
        probeOptions: (domain: DomainView) => ({
          otherPorts: domain.probeOptions.otherPorts === true,
          relayTest: domain.probeOptions.relayTest === true,
        }),
      },
      Finding: { evidence: (finding: FindingView) => JSON.stringify(finding.evidence) },
      Event: { payload: (event: EventView) => JSON.stringify(event.payload) },
      Run: { summary: (run: { summary: unknown }) => JSON.stringify(run.summary) },
    } as unknown as GraphqlModule['resolvers'],
    loaders: loaders as unknown as GraphqlModule['loaders'],
  };
}

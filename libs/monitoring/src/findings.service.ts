/**
 * Reading what monitoring recorded — findings, runs, posture history, events — and the few things a
 * person does to a finding: mute it or acknowledge it for a while. Plus maintenance windows. The
 * batch readers (`…ByDomain`) serve GraphQL loaders: one statement for many domains.
 */
import { AppError, type Clock, decodeId, encodeId, notFound, uuidv7 } from '@mailwarden/core';
import {
  type CheckRunRow,
  type Database,
  type EventType,
  type FindingRow,
  type MonitoringEventRow,
  type SeverityLevel,
  schema,
  severityLevels,
  withTenant,
} from '@mailwarden/db';
import { and, asc, desc, eq, gt, gte, inArray, isNull, lt, type SQL } from 'drizzle-orm';

export interface FindingView {
  id: string;
  domainId: string;
  family: string;
  check: string;
  code: string;
  severity: SeverityLevel;
  subject: string;
  message: string;
  evidence: Record<string, unknown>;
  state: 'open' | 'resolved';
  firstSeenAt: string;
  openedAt: string;
  lastSeenAt: string;
  resolvedAt: string | null;
  mutedUntil: string | null;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  acknowledgedUntil: string | null;
}

export interface RunView {
  id: string;
  domainId: string;
  family: string;
  slot: string;
  startedAt: string;
  durationMs: number;
  outcome: string;
  findingCount: number;
  postureScore: number | null;
  summary: Record<string, unknown>;
}

export interface EventView {
  id: string;
  type: EventType;
  domainId: string | null;
  severity: SeverityLevel | null;
  occurredAt: string;
  suppressed: string | null;
  payload: Record<string, unknown>;
}

export interface PosturePoint {
  recordedAt: string;
  score: number;
  grade: string;
  partial: boolean;
}

export interface MaintenanceWindowView {
  id: string;
  domainId: string | null;
  startsAt: string;
  endsAt: string;
  reason: string;
}

const iso = (d: Date | null) => d?.toISOString() ?? null;

export function toFindingView(row: FindingRow): FindingView {
  return {
    id: encodeId('fnd', row.id),
    domainId: encodeId('dom', row.domainId),
    family: row.family,
    check: row.check,
    code: row.code,
    severity: row.severity,
    subject: row.subject,
    message: row.message,
    evidence: row.evidence,
    state: row.state,
    firstSeenAt: row.firstSeenAt.toISOString(),
    openedAt: row.openedAt.toISOString(),
    lastSeenAt: row.lastSeenAt.toISOString(),
    resolvedAt: iso(row.resolvedAt),
    mutedUntil: iso(row.mutedUntil),
    acknowledgedAt: iso(row.acknowledgedAt),
    acknowledgedBy: row.acknowledgedBy,
    acknowledgedUntil: iso(row.acknowledgedUntil),
  };
}

export function toRunView(row: CheckRunRow): RunView {
  return {
    id: encodeId('run', row.id),
    domainId: encodeId('dom', row.domainId),
    family: row.family,
    slot: row.slot.toISOString(),
    startedAt: row.startedAt.toISOString(),
    durationMs: row.durationMs,
    outcome: row.outcome,
    findingCount: row.findingCount,
    postureScore: row.postureScore,
    summary: row.summary,
  };
}

/** Domain ids inside payloads are uuids in storage; callers see typed ids. */
function publicPayload(payload: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...payload };
  const domain = payload.domain as { id?: string; name?: string } | undefined;
  if (domain?.id) out.domain = { ...domain, id: encodeId('dom', domain.id) };
  const finding = payload.finding as { id?: string } | undefined;
  if (finding?.id) out.finding = { ...finding, id: encodeId('fnd', finding.id) };
  return out;
}

export function toEventView(row: MonitoringEventRow): EventView {
  return {
    id: encodeId('evt', row.id),
    type: row.type,
    domainId: row.domainId ? encodeId('dom', row.domainId) : null,
    severity: row.severity,
    occurredAt: row.occurredAt.toISOString(),
    suppressed: row.suppressed,
    payload: publicPayload(row.payload),
  };
}

function invalid(location: string, message: string): AppError {
  return new AppError('validation_failed', {
    detail: `${location} ${message}`,
    errors: [{ location, message }],
  });
}

function pageLimit(limit: number | undefined): number {
  return Math.min(Math.max(limit ?? 50, 1), 200);
}

function cursorOf(
  prefix: 'fnd' | 'run' | 'evt' | 'mnt',
  cursor: string | undefined,
  location = 'query.cursor',
) {
  if (cursor === undefined) return undefined;
  const id = decodeId(prefix, cursor);
  if (!id) throw invalid(location, 'is not a cursor of this list');
  return id;
}

function domainIdOf(typedId: string): string {
  const id = decodeId('dom', typedId);
  if (!id) throw notFound('domain', typedId);
  return id;
}

export interface FindingFilter {
  domainId?: string;
  state?: 'open' | 'resolved';
  minSeverity?: SeverityLevel;
  code?: string;
  cursor?: string;
  limit?: number;
}

export function createFindingsService(deps: { db: Database; clock: Clock }) {
  const { db, clock } = deps;
  const { findings, checkRuns, monitoringEvents, postureHistory, maintenanceWindows, domains } = schema;

  async function assertDomain(tenantId: string, typedId: string): Promise<string> {
    const id = domainIdOf(typedId);
    const rows = await withTenant(db, tenantId, (tx) =>
      tx
        .select({ id: domains.id })
        .from(domains)
        .where(and(eq(domains.id, id), isNull(domains.deletedAt))),
    );
    if (rows.length === 0) throw notFound('domain', typedId);
    return id;
  }

  async function updateFinding(
    tenantId: string,
    typedId: string,
    set: Partial<FindingRow>,
  ): Promise<FindingView> {
    const id = decodeId('fnd', typedId);
    if (!id) throw notFound('finding', typedId);
    const [row] = await withTenant(db, tenantId, (tx) =>
      tx.update(findings).set(set).where(eq(findings.id, id)).returning(),
    );
    if (!row) throw notFound('finding', typedId);
    return toFindingView(row);
  }

  function futureOrNull(value: string | null | undefined, location: string): Date | null {
    if (value === null || value === undefined) return null;
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) throw invalid(location, 'must be a date-time');
    if (date <= clock.now()) throw invalid(location, 'must be in the future');
    return date;
  }

  return {
    async listFindings(tenantId: string, filter: FindingFilter = {}) {
      const limit = pageLimit(filter.limit);
      const conditions: SQL[] = [];
      if (filter.domainId) conditions.push(eq(findings.domainId, domainIdOf(filter.domainId)));
      if (filter.state) conditions.push(eq(findings.state, filter.state));
      if (filter.code) conditions.push(eq(findings.code, filter.code));
      if (filter.minSeverity) {
        const rank = severityLevels.indexOf(filter.minSeverity);
        conditions.push(inArray(findings.severity, severityLevels.slice(rank) as SeverityLevel[]));
      }
      const after = cursorOf('fnd', filter.cursor);
      if (after) conditions.push(gt(findings.id, after));
      const rows = await withTenant(db, tenantId, (tx) =>
        tx
          .select()
          .from(findings)
          .where(and(...conditions))
          .orderBy(asc(findings.id))
          .limit(limit + 1),
      );
      const page = rows.slice(0, limit);
      return {
        items: page.map(toFindingView),
        nextCursor: rows.length > limit ? encodeId('fnd', page[page.length - 1]!.id) : null,
      };
    },

    async getFinding(tenantId: string, typedId: string): Promise<FindingView> {
      const id = decodeId('fnd', typedId);
      if (!id) throw notFound('finding', typedId);
      const [row] = await withTenant(db, tenantId, (tx) =>
        tx.select().from(findings).where(eq(findings.id, id)),
      );
      if (!row) throw notFound('finding', typedId);
      return toFindingView(row);
    },

    /** No alerts for this finding until `until` (null unmutes); it stays open and visible. */
    mute(tenantId: string, typedId: string, until: string | null) {
      return updateFinding(tenantId, typedId, { mutedUntil: futureOrNull(until, 'body.until') });
    },

    /** Someone is on it: no alerts for it until resolved, or until `until` when given. */
    acknowledge(tenantId: string, typedId: string, actorId: string, until?: string | null) {
      return updateFinding(tenantId, typedId, {
        acknowledgedAt: clock.now(),
        acknowledgedBy: actorId,
        acknowledgedUntil: futureOrNull(until, 'body.until'),
      });
    },

    unacknowledge(tenantId: string, typedId: string) {
      return updateFinding(tenantId, typedId, {
        acknowledgedAt: null,
        acknowledgedBy: null,
        acknowledgedUntil: null,
      });
    },

    async listRuns(tenantId: string, domainTypedId: string, opts: { cursor?: string; limit?: number } = {}) {
      const domainId = await assertDomain(tenantId, domainTypedId);
      const limit = pageLimit(opts.limit);
      const before = cursorOf('run', opts.cursor);
      const rows = await withTenant(db, tenantId, (tx) =>
        tx
          .select()
          .from(checkRuns)
          .where(and(eq(checkRuns.domainId, domainId), ...(before ? [lt(checkRuns.id, before)] : [])))
          .orderBy(desc(checkRuns.id))
          .limit(limit + 1),
      );
      const page = rows.slice(0, limit);
      return {
        items: page.map(toRunView),
        nextCursor: rows.length > limit ? encodeId('run', page[page.length - 1]!.id) : null,
      };
    },

    async postureHistory(tenantId: string, domainTypedId: string, since?: string): Promise<PosturePoint[]> {
      const domainId = await assertDomain(tenantId, domainTypedId);
      const from = since ? new Date(since) : new Date(clock.now().getTime() - 90 * 86_400_000);
      if (Number.isNaN(from.getTime())) throw invalid('query.since', 'must be a date-time');
      const rows = await withTenant(db, tenantId, (tx) =>
        tx
          .select()
          .from(postureHistory)
          .where(and(eq(postureHistory.domainId, domainId), gte(postureHistory.recordedAt, from)))
          .orderBy(asc(postureHistory.recordedAt))
          .limit(5_000),
      );
      return rows.map((r) => ({
        recordedAt: r.recordedAt.toISOString(),
        score: r.score,
        grade: r.grade,
        partial: r.partial,
      }));
    },

    /** One event of the tenant by uuid; a foreign or missing id is the same 404. */
    async getEvent(tenantId: string, eventId: string): Promise<EventView> {
      const [row] = await withTenant(db, tenantId, (tx) =>
        tx.select().from(monitoringEvents).where(eq(monitoringEvents.id, eventId)),
      );
      if (!row) throw notFound('event', encodeId('evt', eventId));
      return toEventView(row);
    },

    /** Newest first. */
    async listEvents(
      tenantId: string,
      filter: { domainId?: string; type?: EventType; cursor?: string; limit?: number } = {},
    ) {
      const limit = pageLimit(filter.limit);
      const conditions: SQL[] = [];
      if (filter.domainId) conditions.push(eq(monitoringEvents.domainId, domainIdOf(filter.domainId)));
      if (filter.type) conditions.push(eq(monitoringEvents.type, filter.type));
      const before = cursorOf('evt', filter.cursor);
      if (before) conditions.push(lt(monitoringEvents.id, before));
      const rows = await withTenant(db, tenantId, (tx) =>
        tx
          .select()
          .from(monitoringEvents)
          .where(and(...conditions))
          .orderBy(desc(monitoringEvents.id))
          .limit(limit + 1),
      );
      const page = rows.slice(0, limit);
      return {
        items: page.map(toEventView),
        nextCursor: rows.length > limit ? encodeId('evt', page[page.length - 1]!.id) : null,
      };
    },

    /** Open findings of many domains in one statement (GraphQL loader). Keys are domain uuids. */
    async openFindingsByDomain(
      tenantId: string,
      domainIds: readonly string[],
    ): Promise<Map<string, FindingView[]>> {
      const map = new Map<string, FindingView[]>(domainIds.map((id) => [id, []]));
      if (domainIds.length === 0) return map;
      const rows = await withTenant(db, tenantId, (tx) =>
        tx
          .select()
          .from(findings)
          .where(and(inArray(findings.domainId, [...domainIds]), eq(findings.state, 'open')))
          .orderBy(asc(findings.id)),
      );
      for (const row of rows) map.get(row.domainId)?.push(toFindingView(row));
      return map;
    },

    /** The last `perDomain` events of many domains in one statement (GraphQL loader). */
    async recentEventsByDomain(
      tenantId: string,
      domainIds: readonly string[],
      perDomain = 10,
    ): Promise<Map<string, EventView[]>> {
      const map = new Map<string, EventView[]>(domainIds.map((id) => [id, []]));
      if (domainIds.length === 0) return map;
      const rows = await withTenant(db, tenantId, (tx) =>
        tx
          .select()
          .from(monitoringEvents)
          .where(inArray(monitoringEvents.domainId, [...domainIds]))
          .orderBy(desc(monitoringEvents.id))
          .limit(domainIds.length * perDomain * 4),
      );
      for (const row of rows) {
        const list = row.domainId ? map.get(row.domainId) : undefined;
        if (list && list.length < perDomain) list.push(toEventView(row));
      }
      return map;
    },

    /** Posture history of many domains since a time, in one statement (GraphQL loader). */
    async postureHistoryByDomain(
      tenantId: string,
      domainIds: readonly string[],
      since: Date,
    ): Promise<Map<string, PosturePoint[]>> {
      const map = new Map<string, PosturePoint[]>(domainIds.map((id) => [id, []]));
      if (domainIds.length === 0) return map;
      const rows = await withTenant(db, tenantId, (tx) =>
        tx
          .select()
          .from(postureHistory)
          .where(and(inArray(postureHistory.domainId, [...domainIds]), gte(postureHistory.recordedAt, since)))
          .orderBy(asc(postureHistory.recordedAt)),
      );
      for (const r of rows)
        map.get(r.domainId)?.push({
          recordedAt: r.recordedAt.toISOString(),
          score: r.score,
          grade: r.grade,
          partial: r.partial,
        });
      return map;
    },

    async createMaintenanceWindow(
      tenantId: string,
      input: { domainId?: string | null; startsAt: string; endsAt: string; reason?: string },
    ): Promise<MaintenanceWindowView> {
      const startsAt = new Date(input.startsAt);
      const endsAt = new Date(input.endsAt);
      if (Number.isNaN(startsAt.getTime())) throw invalid('body.startsAt', 'must be a date-time');
      if (Number.isNaN(endsAt.getTime())) throw invalid('body.endsAt', 'must be a date-time');
      if (endsAt <= startsAt) throw invalid('body.endsAt', 'must be after startsAt');
      if (endsAt.getTime() - startsAt.getTime() > 31 * 86_400_000)
        throw invalid('body.endsAt', 'a window lasts at most 31 days');
      const domainId = input.domainId ? await assertDomain(tenantId, input.domainId) : null;
      const id = uuidv7(clock.now().getTime());
      const [row] = await withTenant(db, tenantId, (tx) =>
        tx
          .insert(maintenanceWindows)
          .values({ id, tenantId, domainId, startsAt, endsAt, reason: (input.reason ?? '').slice(0, 500) })
          .returning(),
      );
      return toWindowView(row!);
    },

    async listMaintenanceWindows(tenantId: string): Promise<MaintenanceWindowView[]> {
      const rows = await withTenant(db, tenantId, (tx) =>
        tx
          .select()
          .from(maintenanceWindows)
          .where(gt(maintenanceWindows.endsAt, clock.now()))
          .orderBy(asc(maintenanceWindows.startsAt))
          .limit(500),
      );
      return rows.map(toWindowView);
    },

    async deleteMaintenanceWindow(tenantId: string, typedId: string): Promise<void> {
      const id = decodeId('mnt', typedId);
      if (!id) throw notFound('maintenance window', typedId);
      const rows = await withTenant(db, tenantId, (tx) =>
        tx
          .delete(maintenanceWindows)
          .where(eq(maintenanceWindows.id, id))
          .returning({ id: maintenanceWindows.id }),
      );
      if (rows.length === 0) throw notFound('maintenance window', typedId);
    },
  };
}

function toWindowView(row: typeof schema.maintenanceWindows.$inferSelect): MaintenanceWindowView {
  return {
    id: encodeId('mnt', row.id),
    domainId: row.domainId ? encodeId('dom', row.domainId) : null,
    startsAt: row.startsAt.toISOString(),
    endsAt: row.endsAt.toISOString(),
    reason: row.reason,
  };
}

export type FindingsService = ReturnType<typeof createFindingsService>;

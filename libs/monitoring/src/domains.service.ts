/**
 * Domains a tenant watches: add (with its schedules), list with filters and a cursor, show, update,
 * delete (monitoring stops, history stays until retention), verify ownership, scan now. Every call
 * takes the tenant from the caller's principal; a foreign id is the same 404 as a missing one, and
 * RLS is the backstop (DESIGN.md §5).
 */
import { randomBytes } from 'node:crypto';
import { normalizeScanDomain } from '@mailwarden/checks';
import {
  AppError,
  type Clock,
  decodeId,
  encodeId,
  formatIp,
  notFound,
  parseIp,
  type Resolver,
  uuidv7,
} from '@mailwarden/core';
import {
  type CheckFamily,
  checkFamilies,
  type Database,
  type DomainProbeOptions,
  type DomainRow,
  type SeverityLevel,
  schema,
  type Tx,
  withTenant,
} from '@mailwarden/db';
import type { RunCheckPayload } from '@mailwarden/queue';
import { and, asc, count, eq, gt, ilike, inArray, isNotNull, isNull, type SQL, sql } from 'drizzle-orm';
import { defaultIntervalSeconds, maxIntervalSeconds, minIntervalSeconds } from './families.ts';
import { verificationValue } from './record-run.ts';
import { readVerificationTxt } from './runners.ts';

export const maxDkimSelectors = 50;
export const maxSendingIps = 256;
const SELECTOR_RE = /^[a-z0-9](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9](?:[a-z0-9_-]{0,62}))*$/;

export interface DomainView {
  id: string;
  name: string;
  verified: boolean;
  verifiedAt: string | null;
  verification: { recordName: string; recordType: 'TXT'; recordValue: string };
  dkimSelectors: string[];
  sendingIps: string[];
  alertThreshold: SeverityLevel | null;
  probeOptions: DomainProbeOptions;
  intervals: Record<CheckFamily, number>;
  posture: { score: number; grade: string } | null;
  lastCheckedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface DomainInput {
  dkimSelectors?: string[];
  sendingIps?: string[];
  alertThreshold?: SeverityLevel | null;
  probeOptions?: DomainProbeOptions;
  intervals?: Partial<Record<CheckFamily, number>>;
}

export interface DomainListFilter {
  /** Name contains (case-insensitive). */
  search?: string;
  verified?: boolean;
  grade?: string;
  cursor?: string;
  limit?: number;
}

function invalid(location: string, message: string): AppError {
  return new AppError('validation_failed', {
    detail: `${location} ${message}`,
    errors: [{ location, message }],
  });
}

function normaliseSelectors(list: readonly string[] | undefined): string[] | undefined {
  if (list === undefined) return undefined;
  if (list.length > maxDkimSelectors)
    throw invalid('body.dkimSelectors', `must hold at most ${maxDkimSelectors} selectors`);
  const out = new Set<string>();
  for (const raw of list) {
    const s = raw.trim().toLowerCase();
    if (!SELECTOR_RE.test(s) || s.length > 253)
      throw invalid('body.dkimSelectors', `"${raw.slice(0, 80)}" is not a DKIM selector`);
    out.add(s);
  }
  return [...out];
}

function normaliseIps(list: readonly string[] | undefined): string[] | undefined {
  if (list === undefined) return undefined;
  if (list.length > maxSendingIps)
    throw invalid('body.sendingIps', `must hold at most ${maxSendingIps} addresses`);
  const out = new Set<string>();
  for (const raw of list) {
    const ip = parseIp(raw.trim());
    if (!ip) throw invalid('body.sendingIps', `"${raw.slice(0, 80)}" is not an IP address`);
    out.add(formatIp(ip));
  }
  return [...out];
}

function normaliseIntervals(
  intervals: Partial<Record<CheckFamily, number>> | undefined,
): Partial<Record<CheckFamily, number>> {
  if (!intervals) return {};
  for (const [family, seconds] of Object.entries(intervals) as [string, number][]) {
    if (!(checkFamilies as readonly string[]).includes(family))
      throw invalid(`body.intervals.${family}`, 'is not a check family');
    if (!Number.isInteger(seconds) || seconds < minIntervalSeconds || seconds > maxIntervalSeconds)
      throw invalid(
        `body.intervals.${family}`,
        `must be an integer from ${minIntervalSeconds} to ${maxIntervalSeconds} seconds`,
      );
  }
  return intervals;
}

export function createDomainsService(deps: { db: Database; clock: Clock; resolver: Resolver }) {
  const { db, clock } = deps;
  const { domains, domainSchedules, tenantSettings } = schema;

  const idOf = (typedId: string) => {
    const id = decodeId('dom', typedId);
    if (!id) throw notFound('domain', typedId);
    return id;
  };

  async function schedulesOf(tx: Tx, ids: string[]) {
    if (ids.length === 0) return new Map<string, Record<CheckFamily, number>>();
    const rows = await tx
      .select({
        domainId: domainSchedules.domainId,
        family: domainSchedules.family,
        interval: domainSchedules.intervalSeconds,
      })
      .from(domainSchedules)
      .where(inArray(domainSchedules.domainId, ids));
    const map = new Map<string, Record<CheckFamily, number>>();
    for (const row of rows) {
      const entry = map.get(row.domainId) ?? { ...defaultIntervalSeconds };
      entry[row.family] = row.interval;
      map.set(row.domainId, entry);
    }
    return map;
  }

  function view(row: DomainRow, intervals: Record<CheckFamily, number> | undefined): DomainView {
    return {
      id: encodeId('dom', row.id),
      name: row.name,
      verified: row.verifiedAt !== null,
      verifiedAt: row.verifiedAt?.toISOString() ?? null,
      verification: {
        recordName: `_mailwarden.${row.name}`,
        recordType: 'TXT',
        recordValue: verificationValue(row.verificationToken),
      },
      dkimSelectors: row.dkimSelectors,
      sendingIps: row.sendingIps,
      alertThreshold: row.alertThreshold,
      probeOptions: row.probeOptions,
      intervals: intervals ?? { ...defaultIntervalSeconds },
      posture:
        row.postureScore !== null && row.postureGrade !== null
          ? { score: row.postureScore, grade: row.postureGrade }
          : null,
      lastCheckedAt: row.lastCheckedAt?.toISOString() ?? null,
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    };
  }

  async function load(tx: Tx, id: string, typedId: string): Promise<DomainRow> {
    const [row] = await tx
      .select()
      .from(domains)
      .where(and(eq(domains.id, id), isNull(domains.deletedAt)));
    if (!row) throw notFound('domain', typedId);
    return row;
  }

  return {
    async add(tenantId: string, nameInput: string, input: DomainInput = {}): Promise<DomainView> {
      const name = normalizeScanDomain(nameInput);
      if (name === null) {
        throw new AppError('domain_invalid', {
          detail: `"${nameInput.slice(0, 100)}" is not a domain name`,
          errors: [{ location: 'body.name', message: 'must be a domain name such as example.com' }],
        });
      }
      const dkimSelectors = normaliseSelectors(input.dkimSelectors) ?? [];
      const sendingIps = normaliseIps(input.sendingIps) ?? [];
      const intervals: Record<CheckFamily, number> = {
        ...defaultIntervalSeconds,
        ...normaliseIntervals(input.intervals),
      };
      const now = clock.now();
      return withTenant(db, tenantId, async (tx) => {
        // Serialise adds per tenant so two concurrent adds cannot both squeeze under the quota.
        await tx.execute(sqlLock(tenantId));
        const [settings] = await tx.select({ maxDomains: tenantSettings.maxDomains }).from(tenantSettings);
        const maxDomains = settings?.maxDomains ?? 500;
        const [{ value: current } = { value: 0 }] = await tx
          .select({ value: count() })
          .from(domains)
          .where(isNull(domains.deletedAt));
        if (current >= maxDomains) {
          throw new AppError('quota_exceeded', {
            detail: `the tenant watches ${current} domains, its quota is ${maxDomains}`,
            extensions: { quota: 'domains', limit: maxDomains },
          });
        }
        const id = uuidv7(now.getTime());
        const inserted = await tx
          .insert(domains)
          .values({
            id,
            tenantId,
            name,
            verificationToken: randomBytes(18).toString('base64url'),
            dkimSelectors,
            sendingIps,
            alertThreshold: input.alertThreshold ?? null,
            probeOptions: input.probeOptions ?? {},
            createdAt: now,
            updatedAt: now,
          })
          .onConflictDoNothing()
          .returning();
        const row = inserted[0];
        if (!row)
          throw new AppError('domain_taken', { detail: `${name} is already monitored by this tenant` });
        // Passive checks start at once; the TLS family waits for verification (the tick filters it).
        await tx.insert(domainSchedules).values(
          checkFamilies.map((family) => ({
            tenantId,
            domainId: id,
            family,
            intervalSeconds: intervals[family],
            nextRunAt: now,
          })),
        );
        return view(row, intervals);
      });
    },

    async list(tenantId: string, filter: DomainListFilter = {}) {
      const limit = Math.min(Math.max(filter.limit ?? 50, 1), 200);
      const conditions: SQL[] = [isNull(domains.deletedAt)];
      if (filter.search)
        conditions.push(ilike(domains.name, `%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`));
      if (filter.verified === true) conditions.push(isNotNull(domains.verifiedAt));
      if (filter.verified === false) conditions.push(isNull(domains.verifiedAt));
      if (filter.grade) conditions.push(eq(domains.postureGrade, filter.grade));
      if (filter.cursor) {
        const after = decodeId('dom', filter.cursor);
        if (!after) throw invalid('query.cursor', 'is not a cursor of this list');
        conditions.push(gt(domains.id, after));
      }
      return withTenant(db, tenantId, async (tx) => {
        const rows = await tx
          .select()
          .from(domains)
          .where(and(...conditions))
          .orderBy(asc(domains.id))
          .limit(limit + 1);
        const page = rows.slice(0, limit);
        const intervals = await schedulesOf(
          tx,
          page.map((r) => r.id),
        );
        return {
          items: page.map((r) => view(r, intervals.get(r.id))),
          nextCursor: rows.length > limit ? encodeId('dom', page[page.length - 1]!.id) : null,
        };
      });
    },

    async get(tenantId: string, typedId: string): Promise<DomainView> {
      const id = idOf(typedId);
      return withTenant(db, tenantId, async (tx) => {
        const row = await load(tx, id, typedId);
        return view(row, (await schedulesOf(tx, [id])).get(id));
      });
    },

    /** Rows by uuid for loaders: one statement for many ids, foreign ids simply absent. */
    async getMany(tenantId: string, ids: readonly string[]): Promise<Map<string, DomainView>> {
      if (ids.length === 0) return new Map();
      return withTenant(db, tenantId, async (tx) => {
        const rows = await tx
          .select()
          .from(domains)
          .where(and(inArray(domains.id, [...ids]), isNull(domains.deletedAt)));
        const intervals = await schedulesOf(
          tx,
          rows.map((r) => r.id),
        );
        return new Map(rows.map((r) => [r.id, view(r, intervals.get(r.id))]));
      });
    },

    async update(tenantId: string, typedId: string, input: DomainInput): Promise<DomainView> {
      const id = idOf(typedId);
      const dkimSelectors = normaliseSelectors(input.dkimSelectors);
      const sendingIps = normaliseIps(input.sendingIps);
      const intervals = normaliseIntervals(input.intervals);
      const now = clock.now();
      return withTenant(db, tenantId, async (tx) => {
        await load(tx, id, typedId);
        const [row] = await tx
          .update(domains)
          .set({
            ...(dkimSelectors ? { dkimSelectors } : {}),
            ...(sendingIps ? { sendingIps } : {}),
            ...(input.alertThreshold !== undefined ? { alertThreshold: input.alertThreshold } : {}),
            ...(input.probeOptions ? { probeOptions: input.probeOptions } : {}),
            updatedAt: now,
          })
          .where(eq(domains.id, id))
          .returning();
        for (const [family, seconds] of Object.entries(intervals) as [CheckFamily, number][]) {
          await tx
            .update(domainSchedules)
            .set({ intervalSeconds: seconds })
            .where(and(eq(domainSchedules.domainId, id), eq(domainSchedules.family, family)));
        }
        return view(row!, (await schedulesOf(tx, [id])).get(id));
      });
    },

    /** Stops monitoring; runs, findings and events stay until the tenant's retention removes them. */
    async remove(tenantId: string, typedId: string): Promise<void> {
      const id = idOf(typedId);
      const now = clock.now();
      await withTenant(db, tenantId, async (tx) => {
        await load(tx, id, typedId);
        await tx.update(domains).set({ deletedAt: now, updatedAt: now }).where(eq(domains.id, id));
        await tx.delete(domainSchedules).where(eq(domainSchedules.domainId, id));
      });
    },

    /**
     * Looks the token up now (the dns family also does at every run). Verified: the TLS probes may
     * start, and a `domain.verified` event is written. Returns the event id to dispatch.
     */
    async verify(tenantId: string, typedId: string): Promise<{ domain: DomainView; eventId: string | null }> {
      const id = idOf(typedId);
      const row = await withTenant(db, tenantId, (tx) => load(tx, id, typedId));
      if (row.verifiedAt) return { domain: await this.get(tenantId, typedId), eventId: null };
      const txt = await readVerificationTxt(deps.resolver, row.name);
      const wanted = verificationValue(row.verificationToken);
      if (txt === 'unknown' || !txt.some((t) => t.trim() === wanted)) {
        throw new AppError('verification_failed', {
          detail:
            txt === 'unknown'
              ? `DNS did not answer for _mailwarden.${row.name}; try again later`
              : `no TXT record "${wanted}" at _mailwarden.${row.name}`,
          extensions: { recordName: `_mailwarden.${row.name}`, recordValue: wanted },
        });
      }
      const now = clock.now();
      const eventId = uuidv7(now.getTime());
      // A concurrent verify may have won: then it wrote the event, and this call reports none.
      const wrote = await withTenant(db, tenantId, async (tx) => {
        const updated = await tx
          .update(domains)
          .set({ verifiedAt: now, updatedAt: now })
          .where(and(eq(domains.id, id), isNull(domains.verifiedAt)))
          .returning({ id: domains.id });
        if (updated.length === 0) return false;
        await tx.insert(schema.monitoringEvents).values({
          id: eventId,
          tenantId,
          domainId: id,
          type: 'domain.verified',
          severity: 'info',
          payload: { domain: { id, name: row.name }, verifiedAt: now.toISOString(), method: 'dns_txt' },
          occurredAt: now,
        });
        // The TLS probes become due now.
        await tx
          .update(domainSchedules)
          .set({ nextRunAt: now })
          .where(and(eq(domainSchedules.domainId, id), eq(domainSchedules.family, 'tls')));
        return true;
      });
      return { domain: await this.get(tenantId, typedId), eventId: wrote ? eventId : null };
    },

    /**
     * Makes every family of the domain due now and returns the jobs to enqueue (the caller owns the
     * queue). Ids follow the tick's rule, so a tick that sees the same slot adds nothing.
     */
    async scanNow(tenantId: string, typedId: string): Promise<RunCheckPayload[]> {
      const id = idOf(typedId);
      const now = clock.now();
      return withTenant(db, tenantId, async (tx) => {
        const row = await load(tx, id, typedId);
        const rows = await tx
          .update(domainSchedules)
          .set({ nextRunAt: now })
          .where(eq(domainSchedules.domainId, id))
          .returning({ family: domainSchedules.family });
        return rows
          .filter((r) => r.family !== 'tls' || row.verifiedAt !== null)
          .map((r) => ({
            name: row.name,
            family: r.family,
            slot: now.toISOString(),
            targets: [{ tenantId, domainId: id }],
          }));
      });
    },
  };
}

function sqlLock(tenantId: string) {
  return sql`select pg_advisory_xact_lock(hashtext(${`domains:${tenantId}`}))`;
}

export type DomainsService = ReturnType<typeof createDomainsService>;

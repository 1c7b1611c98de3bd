/**
 * Names of report source addresses for the analytics (issue 6 §4: top sources with "reverse DNS
 * cached, provider name from a curated map"). The answer of libs/checks' `nameSender` (PTR,
 * forward-confirmed, provider) is cached in `source_ip_names` (migration 0010), shared by every
 * tenant because it is public DNS. A read asks DNS only for addresses missing or stale in the
 * cache, at most `maxLookups` of them, within `deadlineMs`: a summary never waits long on a slow
 * reverse zone. Lookups still running at the deadline finish in the background and are cached
 * for the next read.
 */

import { nameSender, type SenderName } from '@mailwarden/checks';
import type { Clock, Resolver } from '@mailwarden/core';
import { type Database, schema } from '@mailwarden/db';
import { inArray, sql } from 'drizzle-orm';

/** A name (or a proven absence) is asked again after a day: PTRs change rarely. */
export const sourceNameTtlMs = 24 * 3_600_000;
/** A failed lookup is retried after ten minutes. */
export const sourceNameRetryMs = 10 * 60_000;

export interface SourceName {
  ptr: string | null;
  forwardConfirmed: boolean;
  provider: { id: string; name: string } | null;
}

export interface SourceNamerOptions {
  db: Database;
  resolver: Resolver;
  clock: Clock;
  /** Addresses looked up per call at most; the rest wait for a later read. Default 50. */
  maxLookups?: number;
  /** Lookups at once. Default 16. */
  concurrency?: number;
  /** How long a read waits for DNS. Default 1 500 ms. */
  deadlineMs?: number;
  /** Called with errors of background writes (a cache write after the deadline). */
  onError?: (err: unknown) => void;
}

type Row = typeof schema.sourceIpNames.$inferSelect;

function toName(row: Pick<Row, 'ptr' | 'forwardConfirmed' | 'providerId' | 'providerName'>): SourceName {
  return {
    ptr: row.ptr,
    forwardConfirmed: row.forwardConfirmed,
    provider: row.providerId && row.providerName ? { id: row.providerId, name: row.providerName } : null,
  };
}

function fromSender(s: SenderName): SourceName {
  return { ptr: s.ptr, forwardConfirmed: s.forwardConfirmed, provider: s.provider };
}

export function createSourceNamer(options: SourceNamerOptions) {
  const { db, resolver, clock } = options;
  const maxLookups = options.maxLookups ?? 50;
  const concurrency = options.concurrency ?? 16;
  const deadlineMs = options.deadlineMs ?? 1_500;
  const table = schema.sourceIpNames;

  async function store(results: SenderName[]): Promise<void> {
    if (results.length === 0) return;
    const now = clock.now();
    await db
      .insert(table)
      .values(
        results.map((r) => ({
          ip: r.ip,
          outcome: r.outcome,
          ptr: r.ptr,
          forwardConfirmed: r.forwardConfirmed,
          providerId: r.provider?.id ?? null,
          providerName: r.provider?.name ?? null,
          resolvedAt: now,
        })),
      )
      .onConflictDoUpdate({
        target: table.ip,
        set: {
          outcome: sql`excluded.outcome`,
          ptr: sql`excluded.ptr`,
          forwardConfirmed: sql`excluded.forward_confirmed`,
          providerId: sql`excluded.provider_id`,
          providerName: sql`excluded.provider_name`,
          resolvedAt: sql`excluded.resolved_at`,
        },
      });
  }

  return {
    /** Names of these addresses (canonical text, as stored in report rows); unknown ones are absent. */
    async names(ips: readonly string[]): Promise<Map<string, SourceName>> {
      const unique = [...new Set(ips)];
      const out = new Map<string, SourceName>();
      if (unique.length === 0) return out;
      const cached = await db.select().from(table).where(inArray(table.ip, unique));
      const now = clock.now().getTime();
      const fresh = new Set<string>();
      for (const row of cached) {
        const age = now - row.resolvedAt.getTime();
        if (row.outcome !== 'unknown') out.set(row.ip, toName(row));
        if (age < (row.outcome === 'unknown' ? sourceNameRetryMs : sourceNameTtlMs)) fresh.add(row.ip);
      }
      const todo = unique.filter((ip) => !fresh.has(ip)).slice(0, maxLookups);
      if (todo.length === 0) return out;

      const done: SenderName[] = [];
      const late: SenderName[] = [];
      let expired = false;
      let next = 0;
      const worker = async () => {
        while (next < todo.length) {
          const ip = todo[next++]!;
          const result = await nameSender(resolver, ip).catch(
            (): SenderName => ({
              ip,
              outcome: 'unknown',
              ptr: null,
              forwardConfirmed: false,
              provider: null,
            }),
          );
          (expired ? late : done).push(result);
        }
      };
      const all = Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, worker));
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, deadlineMs);
        timer.unref();
      });
      await Promise.race([all, deadline]);
      clearTimeout(timer);
      expired = true;
      // Whatever finishes after the deadline is cached for the next read, off this request.
      all.then(() => store(late)).catch((err: unknown) => options.onError?.(err));

      await store(done);
      for (const r of done) if (r.outcome !== 'unknown') out.set(r.ip, fromSender(r));
      return out;
    },
  };
}

export type SourceNamer = ReturnType<typeof createSourceNamer>;

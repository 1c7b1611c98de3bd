/**
 * The scheduler tick (DESIGN.md §2.3): Postgres holds every schedule; a tick asks it what is due
 * and enqueues one job per (domain name, family) with a deterministic id, so a tick that runs twice,
 * or after Redis was emptied, rebuilds exactly the missing work and duplicates collapse. The tick
 * holds no state of its own.
 */
import type { Database } from '@mailwarden/db';
import {
  type CheckFamilyName,
  familyQueues,
  maxCheckTargets,
  type Producer,
  type RunCheckPayload,
} from '@mailwarden/queue';
import { sql } from 'drizzle-orm';

/** Groups of (name, family) a tick takes at most; the rest waits for the next tick. */
export const defaultTickLimit = 5_000;

interface DueRow extends Record<string, unknown> {
  tenant_id: string;
  domain_id: string;
  name: string;
  family: CheckFamilyName;
  next_run_at: Date | string;
}

/** What is due at `now`, as run-check payloads (one per name and family, split past maxCheckTargets). */
export async function collectDueChecks(
  db: Database,
  now: Date,
  limit = defaultTickLimit,
): Promise<RunCheckPayload[]> {
  const result = await db.execute<DueRow>(
    sql`select tenant_id, domain_id, name, family, next_run_at from mailwarden_due_checks(${now.toISOString()}::timestamptz, ${limit})`,
  );
  const groups = new Map<string, { name: string; family: CheckFamilyName; slot: number; rows: DueRow[] }>();
  for (const row of result.rows) {
    const key = `${row.family} ${row.name}`;
    const due = new Date(row.next_run_at).getTime();
    let group = groups.get(key);
    if (!group) {
      group = { name: row.name, family: row.family, slot: due, rows: [] };
      groups.set(key, group);
    }
    group.rows.push(row);
    // The slot is the earliest due time of the group: stable for as long as nothing was stored.
    if (due < group.slot) group.slot = due;
  }
  const payloads: RunCheckPayload[] = [];
  for (const group of groups.values()) {
    const targets = group.rows
      .map((r) => ({ tenantId: r.tenant_id, domainId: r.domain_id }))
      .sort((a, b) => a.domainId.localeCompare(b.domainId));
    for (let i = 0; i < targets.length; i += maxCheckTargets) {
      payloads.push({
        name: group.name,
        family: group.family,
        slot: new Date(group.slot).toISOString(),
        targets: targets.slice(i, i + maxCheckTargets),
      });
    }
  }
  return payloads;
}

/** `dns.example.com.1764298800000.0`: family, name, slot and chunk — the same work, the same id. */
export function checkJobId(payload: RunCheckPayload, chunk = 0): string {
  return `${payload.family}.${payload.name}.${Date.parse(payload.slot)}.${chunk}`;
}

/**
 * Job ids a tick offered lately. Due work stays due until its run is stored, so every tick would
 * offer again every job still waiting or running — a no-op in Redis, but one script call per job
 * and tick, for thousands of jobs during a large sweep. The memo skips ids offered less than
 * `reofferAfterMs` ago; a job lost meanwhile (Redis emptied) is offered again after that.
 */
export interface OfferedChecks {
  /** False when `jobId` was offered less than `reofferAfterMs` before `nowMs`; records the offer. */
  offer(jobId: string, nowMs: number): boolean;
  /** Forgets these offers (their enqueue failed). */
  forget(jobIds: readonly string[]): void;
}

/** A lost job is offered again within a minute, like the job schedulers (docs/scheduler.md). */
export const defaultReofferAfterMs = 60_000;

export function createOfferedChecks(reofferAfterMs = defaultReofferAfterMs): OfferedChecks {
  const offeredAt = new Map<string, number>();
  let prunedAt = 0;
  return {
    offer(jobId, nowMs) {
      if (nowMs - prunedAt >= reofferAfterMs) {
        for (const [id, at] of offeredAt) if (nowMs - at >= reofferAfterMs) offeredAt.delete(id);
        prunedAt = nowMs;
      }
      const at = offeredAt.get(jobId);
      if (at !== undefined && nowMs - at < reofferAfterMs && nowMs >= at) return false;
      offeredAt.set(jobId, nowMs);
      return true;
    },
    forget(jobIds) {
      for (const id of jobIds) offeredAt.delete(id);
    },
  };
}

/**
 * Enqueues due work; returns how many jobs were offered (existing ids are left alone). With
 * `offered`, ids offered lately by the same memo are skipped.
 */
export async function enqueueChecks(
  producer: Producer,
  payloads: readonly RunCheckPayload[],
  offered?: { memo: OfferedChecks; nowMs: number },
): Promise<number> {
  const byFamily = new Map<CheckFamilyName, { payload: RunCheckPayload; chunk: number }[]>();
  const chunks = new Map<string, number>();
  for (const payload of payloads) {
    const key = `${payload.family} ${payload.name} ${payload.slot}`;
    const chunk = chunks.get(key) ?? 0;
    chunks.set(key, chunk + 1);
    if (offered && !offered.memo.offer(checkJobId(payload, chunk), offered.nowMs)) continue;
    const list = byFamily.get(payload.family) ?? [];
    list.push({ payload, chunk });
    byFamily.set(payload.family, list);
  }
  let count = 0;
  for (const [family, list] of byFamily) {
    const jobs = list.map(({ payload, chunk }) => ({
      name: 'run-check' as const,
      payload,
      jobId: checkJobId(payload, chunk),
    }));
    try {
      count += await producer.enqueueBulk(familyQueues[family], jobs);
    } catch (err) {
      // Not in Redis: the next tick offers them again.
      offered?.memo.forget(jobs.map((j) => j.jobId));
      throw err;
    }
  }
  return count;
}

/** One tick: collect and enqueue (skipping what `offered` says was offered lately). */
export async function runSchedulerTick(
  db: Database,
  producer: Producer,
  now: Date,
  limit = defaultTickLimit,
  offered?: OfferedChecks,
): Promise<{ due: number; enqueued: number }> {
  const payloads = await collectDueChecks(db, now, limit);
  const enqueued = await enqueueChecks(
    producer,
    payloads,
    offered ? { memo: offered, nowMs: now.getTime() } : undefined,
  );
  return { due: payloads.length, enqueued };
}

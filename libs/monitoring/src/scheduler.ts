/**
 * The scheduler tick (DESIGN.md §2.3): Postgres holds every schedule; a tick asks it what is due
 * and offers one check per (domain name, family) with a deterministic id, in batch jobs named by
 * their checks. Claims in Redis say which job holds a check, so a tick that runs twice, on another
 * worker, or after Redis was emptied, rebuilds exactly the missing work and duplicates collapse.
 * Besides a memo of what it offered lately, the tick holds no state of its own (docs/scheduler.md).
 */
import { hash } from 'node:crypto';
import type { Database } from '@mailwarden/db';
import {
  type CheckFamilyName,
  checkBatchSizes,
  familyQueues,
  maxCheckTargets,
  type Producer,
  type RunCheckPayload,
  type RunChecksPayload,
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

/**
 * Where a tick's reading of due work stopped: the last group it offered, in the order the due
 * function returns groups (earliest due time, name, family).
 */
export interface DueCursor {
  slotMs: number;
  name: string;
  family: CheckFamilyName;
}

function cursorBefore(a: DueCursor, b: DueCursor): boolean {
  if (a.slotMs !== b.slotMs) return a.slotMs < b.slotMs;
  if (a.name !== b.name) return a.name < b.name;
  return a.family < b.family;
}

/** The last group of these payloads in the due function's order, if any. */
export function lastDueGroup(payloads: readonly RunCheckPayload[]): DueCursor | undefined {
  let last: DueCursor | undefined;
  for (const p of payloads) {
    const at: DueCursor = { slotMs: Date.parse(p.slot), name: p.name, family: p.family };
    if (!last || cursorBefore(last, at)) last = at;
  }
  return last;
}

/**
 * What is due at `now`, as run-check payloads (one per name and family, split past
 * maxCheckTargets); with `after`, only the groups after that one (a tick that offered those before).
 */
export async function collectDueChecks(
  db: Database,
  now: Date,
  limit = defaultTickLimit,
  after?: DueCursor,
): Promise<RunCheckPayload[]> {
  const from = after
    ? sql`, ${new Date(after.slotMs).toISOString()}::timestamptz, ${after.name}::text, ${after.family}::text`
    : sql``;
  const result = await db.execute<DueRow>(
    sql`select tenant_id, domain_id, name, family, next_run_at from mailwarden_due_checks(${now.toISOString()}::timestamptz, ${limit}${from})`,
  );
  const groups = new Map<string, { name: string; family: CheckFamilyName; slot: number; rows: DueRow[] }>();
  for (const row of result.rows) {
    const key = `${row.family} ${row.name}`;
    const due = row.next_run_at instanceof Date ? row.next_run_at.getTime() : Date.parse(row.next_run_at);
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
    const targets = group.rows.map((r) => ({ tenantId: r.tenant_id, domainId: r.domain_id }));
    if (targets.length > 1) targets.sort((a, b) => a.domainId.localeCompare(b.domainId));
    const slot = new Date(group.slot).toISOString();
    for (let i = 0; i < targets.length; i += maxCheckTargets) {
      payloads.push({
        name: group.name,
        family: group.family,
        slot,
        targets:
          i === 0 && targets.length <= maxCheckTargets ? targets : targets.slice(i, i + maxCheckTargets),
      });
    }
  }
  return payloads;
}

/**
 * `dns.example.com.1764298800000.0`: family, name, slot and chunk — the same work, the same id. It
 * names one check; a job holds one or more (`checkBatchJobId`), and a claim in Redis says which
 * job holds a check (Producer#claimChecks).
 */
export function checkJobId(payload: RunCheckPayload, chunk = payload.chunk ?? 0): string {
  return `${payload.family}.${payload.name}.${Date.parse(payload.slot)}.${chunk}`;
}

/**
 * The id of a job holding these checks (in this order): a lone check keeps its own id, a batch is
 * named by a digest of its checks' ids — the same checks, the same job.
 */
export function checkBatchJobId(family: CheckFamilyName, checkIds: readonly string[]): string {
  if (checkIds.length === 1) return checkIds[0]!;
  const digest = hash('sha256', checkIds.join(' '), 'hex').slice(0, 32);
  return `${family}.batch.${digest}`;
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
  /** Forgets these offers (their enqueue failed), and where the reading stopped. */
  forget(jobIds: readonly string[]): void;
  /**
   * Where the next tick may start reading: the last group offered, unless the last reading from
   * the start is `reofferAfterMs` old (then undefined: read everything, and offer again what the
   * memo let go of).
   */
  readFrom(nowMs: number): DueCursor | undefined;
  /** Records where a tick's reading stopped (`fromStart`: it read from the beginning). */
  readTo(cursor: DueCursor | undefined, nowMs: number, fromStart: boolean): void;
}

/** A lost job is offered again within a minute, like the job schedulers (docs/scheduler.md). */
export const defaultReofferAfterMs = 60_000;

export function createOfferedChecks(reofferAfterMs = defaultReofferAfterMs): OfferedChecks {
  const offeredAt = new Map<string, number>();
  let prunedAt = 0;
  let cursor: DueCursor | undefined;
  let readFromStartAt = Number.NEGATIVE_INFINITY;
  return {
    readFrom(nowMs) {
      return nowMs - readFromStartAt < reofferAfterMs && nowMs >= readFromStartAt ? cursor : undefined;
    },
    readTo(last, nowMs, fromStart) {
      if (fromStart) readFromStartAt = nowMs;
      // Nothing after the cursor: it stays where it is.
      if (last && (fromStart || !cursor || cursorBefore(cursor, last))) cursor = last;
    },
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
      // What was read but not enqueued must be read again: the next tick starts from the top.
      cursor = undefined;
      readFromStartAt = Number.NEGATIVE_INFINITY;
    },
  };
}

interface OfferedCheck {
  payload: RunCheckPayload;
  checkId: string;
  slotMs: number;
}

/**
 * Enqueues due work as batch jobs (`run-checks`, at most `checkBatchSizes[family]` checks each);
 * returns how many checks were claimed for a job. Checks already held by a job still in Redis
 * (claims, Producer#claimChecks) are left alone, so a tick that runs twice — or on another worker —
 * adds nothing. With `offered`, check ids offered lately by the same memo are not even asked about.
 */
export async function enqueueChecks(
  producer: Producer,
  payloads: readonly RunCheckPayload[],
  offered?: { memo: OfferedChecks; nowMs: number },
): Promise<number> {
  const byFamily = new Map<CheckFamilyName, OfferedCheck[]>();
  const chunks = new Map<string, number>();
  for (const payload of payloads) {
    const key = `${payload.family} ${payload.name} ${payload.slot}`;
    const chunk = chunks.get(key) ?? 0;
    chunks.set(key, chunk + 1);
    const slotMs = Date.parse(payload.slot);
    const checkId = `${payload.family}.${payload.name}.${slotMs}.${chunk}`; // as checkJobId
    if (offered && !offered.memo.offer(checkId, offered.nowMs)) continue;
    const list = byFamily.get(payload.family) ?? [];
    // The chunk travels with the check, so the worker knows its id (and releases its claim).
    list.push({ payload: chunk > 0 ? { ...payload, chunk } : payload, checkId, slotMs });
    byFamily.set(payload.family, list);
  }
  // The families at once: each is its own queue, claims and jobs.
  const settled = await Promise.allSettled(
    [...byFamily].map(([family, list]) => enqueueFamily(producer, family, list)),
  );
  let count = 0;
  let failure: PromiseRejectedResult | undefined;
  [...byFamily.values()].forEach((list, i) => {
    const result = settled[i]!;
    if (result.status === 'fulfilled') count += result.value;
    else {
      // Not in Redis: the next tick offers them again.
      offered?.memo.forget(list.map((c) => c.checkId));
      failure ??= result;
    }
  });
  if (failure) throw failure.reason;
  return count;
}

async function enqueueFamily(
  producer: Producer,
  family: CheckFamilyName,
  list: OfferedCheck[],
): Promise<number> {
  const queue = familyQueues[family];
  // Earliest slot first (jobs run in the order they are added); the order, and so the batches and
  // their ids, depend on the checks alone.
  list.sort((a, b) => a.slotMs - b.slotMs || (a.checkId < b.checkId ? -1 : a.checkId > b.checkId ? 1 : 0));
  const size = checkBatchSizes[family];
  const batches: { jobId: string; members: OfferedCheck[] }[] = [];
  for (let i = 0; i < list.length; i += size) {
    const members = list.slice(i, i + size);
    batches.push({
      jobId: checkBatchJobId(
        family,
        members.map((m) => m.checkId),
      ),
      members,
    });
  }
  const claimed = await producer.claimChecks(
    queue,
    batches.flatMap((b) => b.members.map((m) => ({ checkId: m.checkId, jobId: b.jobId }))),
  );
  let position = 0;
  let count = 0;
  const jobs: { name: 'run-checks'; payload: RunChecksPayload; jobId: string }[] = [];
  for (const batch of batches) {
    // A batch keeps its id when some of its checks were held elsewhere: the id names the offer.
    const checks = batch.members.filter(() => claimed[position++]).map((m) => m.payload);
    if (checks.length === 0) continue;
    count += checks.length;
    jobs.push({ name: 'run-checks', payload: { family, checks }, jobId: batch.jobId });
  }
  await producer.enqueueBulk(queue, jobs);
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
  const nowMs = now.getTime();
  const after = offered?.readFrom(nowMs);
  const payloads = await collectDueChecks(db, now, limit, after);
  const enqueued = await enqueueChecks(producer, payloads, offered ? { memo: offered, nowMs } : undefined);
  offered?.readTo(lastDueGroup(payloads), nowMs, after === undefined);
  return { due: payloads.length, enqueued };
}

/**
 * Group commit for checks. A worker runs many checks at once (concurrency per family, over all its
 * batch jobs), each for one domain name; recorded one by one, every run would cost its own
 * transactions. The recorder a process shares between its checks gathers what they hand in and,
 * per tenant, writes it in one transaction with set-based statements (record-run.ts): while one
 * batch of a tenant is being written, the next one gathers. Nothing waits for a timer: an idle
 * worker writes each run at once (in the next turn of the event loop), a busy one writes bigger
 * batches.
 *
 * A check still resolves only once its own run is committed, so it keeps the semantics of a check
 * that recorded alone: events enqueued after commit, idempotency by slot, a SIGKILL redoing the job.
 * A batch that fails is retried run by run, so one bad run fails only its own check.
 */
import { type Database, type DomainProbeOptions, queryAsTenant, sqlUuidArray } from '@mailwarden/db';
import { type RecordedRun, type RunToRecord, recordRuns } from './record-run.ts';
import type { DomainCheckOptions } from './runners.ts';

/** Upper bound on the runs (or option loads) of one tenant in one transaction. */
export const defaultMaxBatch = 200;

export interface RunRecorder {
  /** The options the target's owner declared, or undefined when the domain is gone. */
  loadOptions(target: { tenantId: string; domainId: string }): Promise<DomainCheckOptions | undefined>;
  /** Records one run; resolves once it is committed. */
  record(run: RunToRecord): Promise<RecordedRun>;
}

export interface RunRecorderOptions {
  db: Database;
  /** Jitter of the next slots (tests pin it). */
  random?: () => number;
  maxBatch?: number;
}

interface Waiting<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (err: unknown) => void;
}

/**
 * Per tenant, one batch in flight; what arrives meanwhile (and in the same turn of the event loop)
 * forms the next one.
 */
function tenantBatcher<I, O>(
  write: (tenantId: string, items: I[]) => Promise<O[]>,
  maxBatch: number,
): (tenantId: string, item: I) => Promise<O> {
  const queues = new Map<string, Waiting<I, O>[]>();

  async function writeBatch(tenantId: string, batch: Waiting<I, O>[]): Promise<void> {
    try {
      const results = await write(
        tenantId,
        batch.map((w) => w.item),
      );
      batch.forEach((w, i) => {
        w.resolve(results[i]!);
      });
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
      // Find the culprit: each alone and in order (two runs of one domain keep theirs), so the
      // others still commit.
      for (const w of batch) {
        await write(tenantId, [w.item]).then(
          (results) => w.resolve(results[0]!),
          (e: unknown) => w.reject(e),
        );
      }
    }
  }

  async function drain(tenantId: string, queue: Waiting<I, O>[]): Promise<void> {
    while (queue.length > 0) await writeBatch(tenantId, queue.splice(0, maxBatch));
    queues.delete(tenantId);
  }

  return (tenantId, item) =>
    new Promise<O>((resolve, reject) => {
      let queue = queues.get(tenantId);
      if (!queue) {
        const started: Waiting<I, O>[] = [];
        queue = started;
        queues.set(tenantId, started);
        // The next turn: every job handing in during this one joins the batch.
        setImmediate(() => {
          void drain(tenantId, started);
        });
      }
      queue.push({ item, resolve, reject });
    });
}

export function createRunRecorder(options: RunRecorderOptions): RunRecorder {
  const { db } = options;
  const random = options.random ?? Math.random;
  const maxBatch = options.maxBatch ?? defaultMaxBatch;

  const load = tenantBatcher<string, DomainCheckOptions | undefined>(async (tenantId, domainIds) => {
    // Options of many domains of one tenant: one statement, one round trip.
    const rows = await queryAsTenant<{
      id: string;
      dkim_selectors: string[];
      sending_ips: string[];
      probe_options: DomainProbeOptions;
    }>(
      db,
      tenantId,
      `select id, dkim_selectors, sending_ips, probe_options from domains
        where id = any(${sqlUuidArray(domainIds)}) and deleted_at is null`,
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    return domainIds.map((id) => {
      const row = byId.get(id);
      return row
        ? { dkimSelectors: row.dkim_selectors, sendingIps: row.sending_ips, probeOptions: row.probe_options }
        : undefined;
    });
  }, maxBatch);

  const record = tenantBatcher<RunToRecord, RecordedRun>(
    (tenantId, runs) => recordRuns(db, tenantId, runs, random),
    maxBatch,
  );

  return {
    loadOptions: (target) => load(target.tenantId, target.domainId),
    record: (run) => record(run.target.tenantId, run),
  };
}

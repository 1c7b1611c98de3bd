import { AppError } from '@mailwarden/core';
import { type Job, type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { waitForReady } from './connection.ts';
import { validateJobId } from './job-id.ts';
import type { JobNameOf, PayloadOf } from './job-types.ts';
import type { QueueName } from './queue-names.ts';

/**
 * Defaults applied to every job. Finished jobs are removed by age and count so Redis holds only
 * recent history (the durable record is Postgres); failed ones are kept longer for diagnosis.
 * Retries back off exponentially: 5 attempts span about 15 s before a job fails for good.
 */
export const defaultJobOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { age: 24 * 60 * 60, count: 1_000 },
  removeOnFail: { age: 7 * 24 * 60 * 60, count: 5_000 },
} as const satisfies JobsOptions;

export interface EnqueueOptions {
  /** Deterministic id so that duplicates collapse; see `validateJobId` for the rule. */
  jobId?: string;
}

export interface ProducerOptions {
  /** How long an enqueue waits for a connection that is still being set up before it gives up. */
  readyTimeoutMs?: number;
}

/**
 * Claims of check ids (libs/monitoring scheduler.ts): a batch job holds several checks, so the job
 * id alone no longer tells whether a check is queued. `<prefix>:<queue>:claim:<check id>` names the
 * job that holds the check. A check is claimed for `job` unless another job still in Redis (in any
 * state, as a job id blocks an equal one) holds it; claimed ones get the new holder. One script,
 * one round trip, whatever the number of checks. Returns the 1-based positions of the claimed.
 */
const claimScript = `
local claimed = {}
for i = 4, #ARGV, 2 do
  local key = ARGV[1] .. ARGV[i]
  local job = ARGV[i + 1]
  local holder = redis.call('GET', key)
  if not holder or holder == job or redis.call('EXISTS', ARGV[2] .. holder) == 0 then
    redis.call('SET', key, job, 'PX', ARGV[3])
    claimed[#claimed + 1] = (i - 2) / 2
  end
end
return claimed`;

/** A claim outlives its job's completion only by accident (it is released then); failed jobs keep theirs. */
export const checkClaimTtlMs = 24 * 60 * 60 * 1000;

function unavailable(cause?: unknown): AppError {
  return new AppError('service_unavailable', { detail: 'the job queue is not reachable', cause });
}

/**
 * A typed producer over one shared connection (created with role `producer`). The connection
 * belongs to the caller: `close()` closes the queues, not the connection.
 */
export function createProducer(connection: Redis, prefix: string, options: ProducerOptions = {}) {
  const readyTimeoutMs = options.readyTimeoutMs ?? 5_000;
  const queues = new Map<QueueName, Queue>();

  function queueFor(name: QueueName): Queue {
    let queue = queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection, prefix });
      // Connection errors reach the connection's own listener and failed calls reject; this listener
      // only keeps the re-emitted event from crashing the process.
      queue.on('error', () => {});
      queues.set(name, queue);
    }
    return queue;
  }

  return {
    prefix,

    async enqueue<Q extends QueueName, N extends JobNameOf<Q>>(
      queue: Q,
      name: N,
      payload: PayloadOf<Q, N>,
      opts: EnqueueOptions = {},
    ) {
      // Checked before any I/O so a programming error is reported as such, not as an outage.
      const jobId = opts.jobId === undefined ? undefined : validateJobId(opts.jobId);
      try {
        await waitForReady(connection, readyTimeoutMs);
      } catch (err) {
        throw unavailable(err);
      }
      try {
        const job = await queueFor(queue).add(name, payload, {
          ...defaultJobOptions,
          ...(jobId === undefined ? {} : { jobId }),
        });
        return job as Job<PayloadOf<Q, N>, unknown, N>;
      } catch (err) {
        if (connection.status !== 'ready') throw unavailable(err);
        throw err;
      }
    },

    /**
     * Adds many jobs of one queue in one round trip (BullMQ addBulk: one MULTI). Jobs whose id
     * already exists are left as they are, so a tick that re-adds due work creates no duplicates.
     */
    async enqueueBulk<Q extends QueueName, N extends JobNameOf<Q>>(
      queue: Q,
      jobs: readonly { name: N; payload: PayloadOf<Q, N>; jobId?: string; delayMs?: number }[],
    ): Promise<number> {
      if (jobs.length === 0) return 0;
      const entries = jobs.map((job) => ({
        name: job.name,
        data: job.payload,
        opts: {
          ...defaultJobOptions,
          ...(job.jobId === undefined ? {} : { jobId: validateJobId(job.jobId) }),
          ...(job.delayMs === undefined ? {} : { delay: job.delayMs }),
        },
      }));
      try {
        await waitForReady(connection, readyTimeoutMs);
      } catch (err) {
        throw unavailable(err);
      }
      try {
        await queueFor(queue).addBulk(entries);
        return entries.length;
      } catch (err) {
        if (connection.status !== 'ready') throw unavailable(err);
        throw err;
      }
    },

    /**
     * Claims each check id for its job unless another job still in Redis holds it (see
     * `claimScript`); true for the ones claimed. Call before adding the jobs: a check whose job was
     * never added (the add failed) points at a missing job and is claimed again by the next offer.
     */
    async claimChecks(
      queue: QueueName,
      entries: readonly { checkId: string; jobId: string }[],
    ): Promise<boolean[]> {
      if (entries.length === 0) return [];
      for (const e of entries) {
        validateJobId(e.checkId);
        validateJobId(e.jobId);
      }
      try {
        await waitForReady(connection, readyTimeoutMs);
      } catch (err) {
        throw unavailable(err);
      }
      const base = `${prefix}:${queue}:`;
      try {
        const positions = (await connection.eval(
          claimScript,
          0,
          `${base}claim:`,
          base,
          String(checkClaimTtlMs),
          ...entries.flatMap((e) => [e.checkId, e.jobId]),
        )) as number[];
        const claimed = entries.map(() => false);
        for (const p of positions) claimed[p - 1] = true;
        return claimed;
      } catch (err) {
        if (connection.status !== 'ready') throw unavailable(err);
        throw err;
      }
    },

    /** Drops the claims of checks whose runs are stored (best effort: they expire anyway). */
    async releaseChecks(queue: QueueName, checkIds: readonly string[]): Promise<void> {
      if (checkIds.length === 0) return;
      await connection.del(...checkIds.map((id) => `${prefix}:${queue}:claim:${id}`));
    },

    /** The BullMQ queue itself, for job schedulers and inspection; owned by this producer. */
    queue(name: QueueName): Queue {
      return queueFor(name);
    },

    async close(): Promise<void> {
      await Promise.all([...queues.values()].map((q) => q.close()));
      queues.clear();
    },
  };
}

export type Producer = ReturnType<typeof createProducer>;

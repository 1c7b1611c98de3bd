import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/**
 * How a job attempt ended. `retrying`: the attempt failed and BullMQ will try again; `failed`: the
 * job failed for good (unrecoverable input or attempts exhausted); `deferred`: the processor moved
 * the job on purpose (delayed, rate limited, waiting for children), which is not a failure.
 */
export type JobOutcome = 'completed' | 'retrying' | 'failed' | 'deferred';

/**
 * One registry per worker instance rather than prom-client's global one, so that several workers
 * in one process (tests) do not share counters or collide on metric registration.
 */
export function createWorkerMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const jobsTotal = new Counter({
    name: 'mailwarden_jobs_total',
    help: 'Job attempts processed by this worker, by queue, job name and outcome',
    labelNames: ['queue', 'name', 'outcome'] as const,
    registers: [registry],
  });
  const jobDurationSeconds = new Histogram({
    name: 'mailwarden_job_duration_seconds',
    help: 'Wall time of one job attempt in the processor',
    labelNames: ['queue', 'name'] as const,
    buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  // Runs, not jobs: a batch job holds up to 25 names, each recorded for every tenant watching it.
  // `stored`: committed; `skipped`: nothing to store (the slot was stored before, by a job redone
  // after a crash, or the domain was deleted meanwhile). Its rate is the sweep's throughput.
  const checkRunsTotal = new Counter({
    name: 'mailwarden_check_runs_total',
    help: 'Check-family runs recorded per watching tenant, by family and result (stored or skipped)',
    labelNames: ['family', 'result'] as const,
    registers: [registry],
  });
  return { registry, jobsTotal, jobDurationSeconds, checkRunsTotal };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

import {
  allQueueNames,
  createProducer,
  createRedisConnection,
  type Producer,
  queueNames,
  type RedisConnection,
} from '@mailwarden/queue';
import { Queue } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  baseEnv,
  mainPath,
  obliterate,
  redisUrl,
  type SpawnedProcess,
  spawnEntry,
  uniquePrefix,
  waitForJobState,
} from './test-kit.ts';

/** Short locks so that a job abandoned by a killed worker is picked up again within seconds. */
const quickStallEnv = { WORKER_LOCK_DURATION_MS: '1000', WORKER_STALLED_INTERVAL_MS: '250' };

describe('worker process (main.ts)', () => {
  let prefix: string;
  let connection: RedisConnection;
  let producer: Producer;
  let queue: Queue;
  const spawned: SpawnedProcess[] = [];

  function startWorkerProcess(extraEnv: Record<string, string> = {}): SpawnedProcess {
    const proc = spawnEntry(mainPath, { ...baseEnv(prefix), ...extraEnv });
    spawned.push(proc);
    return proc;
  }

  beforeEach(() => {
    prefix = uniquePrefix();
    connection = createRedisConnection(redisUrl, 'producer');
    producer = createProducer(connection, prefix);
    queue = new Queue(queueNames.system, { connection, prefix });
  });

  afterEach(async () => {
    // A failed assertion must not leave a worker running against this prefix.
    for (const proc of spawned.splice(0)) {
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
      await proc.exited;
    }
    await queue.close();
    await producer.close();
    for (const name of allQueueNames) await obliterate(connection, name, prefix);
    await connection.quit();
  });

  it('should finish the job in flight on SIGTERM and exit 0', { timeout: 30_000 }, async () => {
    const proc = startWorkerProcess();
    await proc.waitForLog('worker ready');
    const job = await producer.enqueue(queueNames.system, 'echo', { message: 'in flight', delayMs: 1_500 });
    await waitForJobState(queue, job.id!, ['active']);

    proc.child.kill('SIGTERM');
    expect(await proc.exited).toEqual({ code: 0, signal: null });

    // The job completed inside the dying process; nothing else was running to complete it.
    expect(await queue.getJobState(job.id!)).toBe('completed');
    expect((await queue.getJob(job.id!))?.returnvalue).toMatchObject({ echoed: 'in flight' });
    expect(proc.logs.find((r) => r.msg === 'worker stopped')).toMatchObject({ drained: true });
  });

  it('should leave a job cut off by the shutdown timeout for the next worker', {
    timeout: 30_000,
  }, async () => {
    const first = startWorkerProcess({ ...quickStallEnv, WORKER_SHUTDOWN_TIMEOUT_MS: '300' });
    await first.waitForLog('worker ready');
    const job = await producer.enqueue(queueNames.system, 'echo', { message: 'survivor', delayMs: 3_000 });
    await waitForJobState(queue, job.id!, ['active']);

    first.child.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(first.logs.find((r) => r.msg === 'worker stopped')).toMatchObject({ drained: false });
    // Exited before the job could finish: it is still in Redis, neither completed nor failed.
    expect(['active', 'waiting']).toContain(await queue.getJobState(job.id!));

    const second = startWorkerProcess(quickStallEnv);
    await second.waitForLog('worker ready');
    expect(await waitForJobState(queue, job.id!, ['completed', 'failed'], 15_000)).toBe('completed');
    const done = await queue.getJob(job.id!);
    expect(done?.returnvalue).toMatchObject({ echoed: 'survivor' });
    expect(done?.stalledCounter).toBe(1);

    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
  });

  it('should exit at once on a second signal', { timeout: 30_000 }, async () => {
    const proc = startWorkerProcess();
    await proc.waitForLog('worker ready');
    const job = await producer.enqueue(queueNames.system, 'echo', { message: 'slow', delayMs: 10_000 });
    await waitForJobState(queue, job.id!, ['active']);
    proc.child.kill('SIGTERM');
    await proc.waitForLog('worker stopping; waiting for jobs in flight');
    proc.child.kill('SIGINT');
    expect(await proc.exited).toEqual({ code: 1, signal: null });
    expect(await queue.getJobState(job.id!)).toBe('active');
  });

  it('should exit 78 listing every bad variable on stderr', async () => {
    const proc = spawnEntry(mainPath, {
      MAILWARDEN_ENV: 'prod',
      REDIS_URL: 'http://127.0.0.1:6379',
      WORKER_HTTP_PORT: 'ninety',
      WORKER_CONCURRENCY: '0',
    });
    expect(await proc.exited).toEqual({ code: 78, signal: null });
    const stderr = proc.stderr();
    for (const name of ['MAILWARDEN_ENV', 'REDIS_URL', 'WORKER_HTTP_PORT', 'WORKER_CONCURRENCY']) {
      expect(stderr).toContain(name);
    }
    expect(proc.logs).toEqual([]);
  });
});

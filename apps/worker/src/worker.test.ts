import { createLogger, manualClock } from '@mailwarden/core';
import { createPool } from '@mailwarden/db';
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
import { loadWorkerConfig } from './config.ts';
import { baseEnv, obliterate, postgresUrl, redisUrl, uniquePrefix, waitForJobState } from './test-kit.ts';
import { buildWorker, type MailwardenWorker } from './worker.ts';

const logger = createLogger('silent', 'worker-test');

type Pool = ReturnType<typeof createPool>;

function startWorker(env: Record<string, string>, pool: Pool, clock = manualClock()) {
  const config = loadWorkerConfig(env);
  return buildWorker(config, {
    logger,
    pool,
    clock,
    createConnection: (role) => createRedisConnection(config.REDIS_URL, role),
  });
}

async function get(port: number, path: string, method = 'GET') {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

describe('buildWorker', () => {
  const clock = manualClock(new Date('2026-03-01T12:00:00Z'));
  let prefix: string;
  let pool: Pool;
  let worker: MailwardenWorker;
  let port: number;
  let connection: RedisConnection;
  let producer: Producer;
  let queue: Queue;

  beforeEach(async () => {
    prefix = uniquePrefix();
    pool = createPool(postgresUrl, { max: 1 });
    worker = startWorker(baseEnv(prefix), pool, clock);
    port = (await worker.start()).port;
    connection = createRedisConnection(redisUrl, 'producer');
    producer = createProducer(connection, prefix);
    queue = new Queue(queueNames.system, { connection, prefix });
  });

  afterEach(async () => {
    await worker.stop();
    await queue.close();
    await producer.close();
    for (const name of allQueueNames) await obliterate(connection, name, prefix);
    await connection.quit();
    await pool.end();
  });

  it('should process an echo job and store its result', async () => {
    const job = await producer.enqueue(queueNames.system, 'echo', { message: 'hello', delayMs: 20 });
    await waitForJobState(queue, job.id!, ['completed', 'failed']);
    const done = await queue.getJob(job.id!);
    expect(done?.returnvalue).toEqual({ echoed: 'hello', processedAt: '2026-03-01T12:00:00.000Z' });
    expect(await done?.getState()).toBe('completed');
  });

  it('should fail a malformed payload for good, without spending retries', async () => {
    const bad = await queue.add('echo', { message: 42, delayMs: 'soon' }, { attempts: 5 });
    expect(await waitForJobState(queue, bad.id!, ['completed', 'failed'])).toBe('failed');
    const failed = await queue.getJob(bad.id!);
    expect(failed?.attemptsMade).toBe(1);
    expect(failed?.failedReason).toMatch(/invalid echo payload: message must be a string; delayMs must be/);
  });

  it('should fail a job name no processor knows, under a bounded metric label', async () => {
    const unknown = await queue.add('no-such-job', {}, { attempts: 3 });
    expect(await waitForJobState(queue, unknown.id!, ['completed', 'failed'])).toBe('failed');
    expect((await queue.getJob(unknown.id!))?.attemptsMade).toBe(1);
    const metrics = await worker.metrics.getSingleMetricAsString('mailwarden_jobs_total');
    expect(metrics).toContain('mailwarden_jobs_total{queue="system",name="unknown",outcome="failed"} 1');
    expect(metrics).not.toContain('no-such-job');
  });

  it('should count completed and failed jobs and time them', async () => {
    const ok = await producer.enqueue(queueNames.system, 'echo', { message: 'a' });
    const bad = await queue.add('echo', { nope: true });
    await waitForJobState(queue, ok.id!, ['completed']);
    await waitForJobState(queue, bad.id!, ['failed']);
    const { status, type, text } = await get(port, '/metrics');
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/plain/);
    expect(text).toContain('mailwarden_jobs_total{queue="system",name="echo",outcome="completed"} 1');
    expect(text).toContain('mailwarden_jobs_total{queue="system",name="echo",outcome="failed"} 1');
    expect(text).toContain('mailwarden_job_duration_seconds_count{queue="system",name="echo"} 2');
    // Default process metrics come from this worker's own registry.
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('should answer liveness, readiness and 404 over HTTP', async () => {
    expect(await get(port, '/healthz')).toMatchObject({ status: 200, text: '{"status":"ok"}' });
    const ready = await get(port, '/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toEqual({ status: 'ok', checks: { redis: 'ok', postgres: 'ok' } });
    expect((await get(port, '/nope')).status).toBe(404);
    expect((await get(port, '/healthz', 'POST')).status).toBe(404);
  });
});

describe('buildWorker readiness', () => {
  it('should report a dead Redis as unavailable without revealing its address', async () => {
    const pool = createPool(postgresUrl, { max: 1 });
    const worker = startWorker({ ...baseEnv(uniquePrefix()), REDIS_URL: 'redis://127.0.0.1:1' }, pool);
    try {
      const { port } = await worker.start();
      const ready = await get(port, '/readyz');
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.text)).toEqual({
        status: 'unavailable',
        checks: { redis: 'failed', postgres: 'ok' },
      });
      expect(ready.text).not.toContain('127.0.0.1');
      // Liveness is not readiness: the process itself is fine.
      expect((await get(port, '/healthz')).status).toBe(200);
    } finally {
      await worker.stop();
      await pool.end();
    }
  });

  it('should report a dead Postgres as unavailable', async () => {
    const deadUrl = 'postgres://postgres@127.0.0.1:1/postgres';
    const prefix = uniquePrefix();
    const pool = createPool(deadUrl, { max: 1 });
    const worker = startWorker({ ...baseEnv(prefix), DATABASE_URL: deadUrl }, pool);
    try {
      const { port } = await worker.start();
      const ready = await get(port, '/readyz');
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.text)).toEqual({
        status: 'unavailable',
        checks: { redis: 'ok', postgres: 'failed' },
      });
    } finally {
      await worker.stop();
      await pool.end();
      // This worker did reach Redis and registered its queue there.
      const connection = createRedisConnection(redisUrl, 'producer');
      for (const queue of allQueueNames) await obliterate(connection, queue, prefix);
      await connection.quit();
    }
  });
});

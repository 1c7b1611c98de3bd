/**
 * The tick's memo of jobs offered lately (scheduler.ts), against the local Redis with a queue
 * prefix of its own: work still waiting is not offered again on every tick, a job lost with Redis
 * is offered again once the memo lets go of it, and new work (a new slot) is never held back.
 */
import { randomUUID } from 'node:crypto';
import { createProducer, createRedisConnection, type Producer, queueNames } from '@mailwarden/queue';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkJobId, createOfferedChecks, enqueueChecks } from './scheduler.ts';

const redisUrl = 'redis://127.0.0.1:6379';

describe('offered checks', () => {
  let prefix: string;
  let connection: Redis;
  let producer: Producer;
  let queue: Queue;

  beforeEach(() => {
    prefix = `test-${randomUUID()}`;
    connection = createRedisConnection(redisUrl, 'producer');
    producer = createProducer(connection, prefix);
    queue = new Queue(queueNames.checksDns, { connection, prefix });
  });

  afterEach(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
    await producer.close();
    await connection.quit();
  });

  const payload = (name: string, slot: string) => ({
    name,
    family: 'dns' as const,
    slot,
    targets: [{ tenantId: randomUUID(), domainId: randomUUID() }],
  });

  it('should offer a job once per window, again after it, and new slots at once', async () => {
    const memo = createOfferedChecks(60_000);
    const due = [
      payload('a.test', '2027-01-01T00:00:00.000Z'),
      payload('b.test', '2027-01-01T00:00:00.000Z'),
    ];
    expect(await enqueueChecks(producer, due, { memo, nowMs: 1_000 })).toBe(2);
    expect(await enqueueChecks(producer, due, { memo, nowMs: 16_000 })).toBe(0);
    // A new slot of the same name is new work.
    const next = payload('a.test', '2027-01-01T01:00:00.000Z');
    expect(await enqueueChecks(producer, [...due, next], { memo, nowMs: 31_000 })).toBe(1);
    expect(await queue.getJobCountByTypes('waiting')).toBe(3);

    // Redis loses the jobs: once the window has passed they are offered (and added) again.
    await queue.obliterate({ force: true });
    expect(await enqueueChecks(producer, due, { memo, nowMs: 46_000 })).toBe(0);
    expect(await enqueueChecks(producer, due, { memo, nowMs: 61_000 })).toBe(2);
    expect((await queue.getJob(checkJobId(due[0]!)))?.data).toMatchObject({ name: 'a.test' });
  });

  it('should offer again what an enqueue could not add', async () => {
    const memo = createOfferedChecks(60_000);
    const due = [payload('c.test', '2027-01-01T00:00:00.000Z')];
    const gone = createRedisConnection(redisUrl, 'producer');
    gone.disconnect();
    const failing = createProducer(gone, prefix, { readyTimeoutMs: 100 });
    await expect(enqueueChecks(failing, due, { memo, nowMs: 1_000 })).rejects.toMatchObject({
      code: 'service_unavailable',
    });
    await failing.close().catch(() => {});
    expect(await enqueueChecks(producer, due, { memo, nowMs: 2_000 })).toBe(1);
  });
});

import { randomUUID } from 'node:crypto';
import { AppError } from '@mailwarden/core';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRedisConnection } from './connection.ts';
import { InvalidJobIdError } from './job-id.ts';
import { createProducer, defaultJobOptions, type Producer } from './producer.ts';
import { queueNames } from './queue-names.ts';

const redisUrl = 'redis://127.0.0.1:6379';

describe('createProducer', () => {
  let prefix: string;
  let connection: Redis;
  let producer: Producer;
  let queue: Queue;

  beforeEach(() => {
    prefix = `test-${randomUUID()}`;
    connection = createRedisConnection(redisUrl, 'producer');
    producer = createProducer(connection, prefix);
    queue = new Queue(queueNames.system, { connection, prefix });
  });

  afterEach(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
    await producer.close();
    await connection.quit();
  });

  it('should store a typed job with bounded retention and retry defaults', async () => {
    const job = await producer.enqueue(queueNames.system, 'echo', { message: 'hello', delayMs: 10 });
    const stored = await queue.getJob(job.id!);
    expect(stored?.name).toBe('echo');
    expect(stored?.data).toEqual({ message: 'hello', delayMs: 10 });
    expect(stored?.opts.attempts).toBe(defaultJobOptions.attempts);
    expect(stored?.opts.backoff).toEqual(defaultJobOptions.backoff);
    expect(stored?.opts.removeOnComplete).toEqual(defaultJobOptions.removeOnComplete);
    expect(stored?.opts.removeOnFail).toEqual(defaultJobOptions.removeOnFail);
    expect(await stored?.getState()).toBe('waiting');
    // The prefix really namespaces the keys, which is what lets test files run in parallel.
    expect(await connection.exists(`${prefix}:${queueNames.system}:${job.id}`)).toBe(1);
  });

  it('should collapse jobs enqueued twice with the same deterministic id', async () => {
    const first = await producer.enqueue(queueNames.system, 'echo', { message: 'a' }, { jobId: 'echo-once' });
    const second = await producer.enqueue(
      queueNames.system,
      'echo',
      { message: 'b' },
      { jobId: 'echo-once' },
    );
    expect(first.id).toBe('echo-once');
    expect(second.id).toBe('echo-once');
    expect(await queue.getWaitingCount()).toBe(1);
    expect((await queue.getJob('echo-once'))?.data).toEqual({ message: 'a' });
  });

  it('should refuse an invalid job id before anything reaches Redis', async () => {
    await expect(
      producer.enqueue(queueNames.system, 'echo', { message: 'x' }, { jobId: 'dom:spf' }),
    ).rejects.toBeInstanceOf(InvalidJobIdError);
    await expect(
      producer.enqueue(queueNames.system, 'echo', { message: 'x' }, { jobId: '123' }),
    ).rejects.toBeInstanceOf(InvalidJobIdError);
    expect(await queue.getWaitingCount()).toBe(0);
  });

  it('should connect a lazy connection on the first enqueue', async () => {
    const lazy = createRedisConnection(redisUrl, 'producer', { lazyConnect: true });
    const lazyProducer = createProducer(lazy, prefix);
    try {
      expect(lazy.status).toBe('wait');
      const job = await lazyProducer.enqueue(queueNames.system, 'echo', { message: 'lazy' });
      expect((await queue.getJob(job.id!))?.data).toEqual({ message: 'lazy' });
    } finally {
      await lazyProducer.close();
      await lazy.quit();
    }
  });

  it('should fail fast with service_unavailable when Redis cannot be reached', {
    timeout: 5_000,
  }, async () => {
    const dead = createRedisConnection('redis://127.0.0.1:1', 'producer');
    const deadProducer = createProducer(dead, prefix, { readyTimeoutMs: 300 });
    try {
      const error = await deadProducer.enqueue(queueNames.system, 'echo', { message: 'x' }).catch((e) => e);
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe('service_unavailable');
      expect((error as AppError).detail).not.toMatch(/127\.0\.0\.1/);
    } finally {
      await deadProducer.close();
      dead.disconnect();
    }
  });
});

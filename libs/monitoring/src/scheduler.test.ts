/**
 * How the tick offers due work (scheduler.ts), against the local Redis with a queue prefix of its
 * own: checks go out in batch jobs with ids made of their checks; work still waiting is not offered
 * again on every tick (the memo) nor by another worker's tick (the claims in Redis); a job lost
 * with Redis is offered again once the memo lets go of it, and new work (a new slot) is never held
 * back.
 */
import { randomUUID } from 'node:crypto';
import { createProducer, createRedisConnection, type Producer, queueNames } from '@mailwarden/queue';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkBatchJobId, checkJobId, createOfferedChecks, enqueueChecks } from './scheduler.ts';

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
    // Claims are keys of their own (they expire in a day; a test leaves none behind).
    const claims = await connection.keys(`${prefix}:*:claim:*`);
    if (claims.length > 0) await connection.del(...claims);
    await queue.obliterate({ force: true });
    await queue.close();
    await producer.close();
    await connection.quit();
  });

  const payload = (name: string, slot: string, family: 'dns' | 'tls' = 'dns') => ({
    name,
    family,
    slot,
    targets: [{ tenantId: randomUUID(), domainId: randomUUID() }],
  });

  /** The names of the checks waiting, over every waiting job of the queue. */
  async function waitingChecks(q: Queue = queue): Promise<string[]> {
    const jobs = await q.getWaiting();
    return jobs.flatMap((j) => (j.data.checks as { name: string }[]).map((c) => c.name)).sort();
  }

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
    expect(await waitingChecks()).toEqual(['a.test', 'a.test', 'b.test']);
    // Two jobs: the batch of the first slot (named by its checks), the lone check of the second.
    const batchId = checkBatchJobId(
      'dns',
      due.map((p) => checkJobId(p)),
    );
    expect(batchId).toMatch(/^dns\.batch\.[0-9a-f]{32}$/);
    expect((await queue.getJob(batchId))?.data).toMatchObject({ family: 'dns', checks: due });
    expect((await queue.getJob(checkJobId(next)))?.data).toMatchObject({ checks: [next] });

    // Redis loses the jobs: once the window has passed they are offered (and added) again.
    await queue.obliterate({ force: true });
    expect(await enqueueChecks(producer, due, { memo, nowMs: 46_000 })).toBe(0);
    expect(await enqueueChecks(producer, due, { memo, nowMs: 61_000 })).toBe(2);
    expect((await queue.getJob(batchId))?.data.checks).toMatchObject([
      { name: 'a.test' },
      { name: 'b.test' },
    ]);
  });

  it('should batch a family by its size, earliest slot first, the same checks under the same id', async () => {
    const due = Array.from({ length: 30 }, (_, i) =>
      payload(
        `n${String(i).padStart(2, '0')}.test`,
        `2027-01-01T00:00:${String(59 - i).padStart(2, '0')}.000Z`,
      ),
    );
    expect(await enqueueChecks(producer, due)).toBe(30);
    const jobs = (await queue.getWaiting()).sort((a, b) => a.timestamp - b.timestamp);
    // 25 checks a DNS job: the 25 earliest slots (the last names) first.
    expect(jobs.map((j) => j.data.checks.length).sort()).toEqual([25, 5]);
    const first = jobs.find((j) => j.data.checks.length === 25)!;
    expect(first.data.checks[0].name).toBe('n29.test');
    const ids = [...due].reverse().map((p) => checkJobId(p));
    expect(first.id).toBe(checkBatchJobId('dns', ids.slice(0, 25)));
    // Offered again with a fresh memo (the same tick twice, or another worker's): the same
    // batches under the same ids, which Redis already holds — nothing new.
    expect(await enqueueChecks(producer, due, { memo: createOfferedChecks(), nowMs: 1_000 })).toBe(30);
    expect(await queue.getJobCountByTypes('waiting')).toBe(2);
    expect(await waitingChecks()).toHaveLength(30);

    // The MX probe family goes four at a time, in its own queue.
    const tls = new Queue('checks-tls', { connection, prefix });
    try {
      const probes = Array.from({ length: 6 }, (_, i) =>
        payload(`p${i}.test`, '2027-01-01T00:00:00.000Z', 'tls'),
      );
      expect(await enqueueChecks(producer, probes)).toBe(6);
      expect((await tls.getWaiting()).map((j) => j.data.checks.length).sort()).toEqual([2, 4]);
      await tls.obliterate({ force: true });
    } finally {
      await tls.close();
    }
  });

  it('should leave a check to the job that holds it, and take it once that job is gone', async () => {
    const a = payload('held.test', '2027-01-01T00:00:00.000Z');
    const b = payload('free.test', '2027-01-01T00:00:00.000Z');
    // One worker's tick queued `a` alone; another's (its own memo) sees `a` and `b` due.
    expect(await enqueueChecks(producer, [a])).toBe(1);
    expect(await enqueueChecks(producer, [a, b], { memo: createOfferedChecks(), nowMs: 1_000 })).toBe(1);
    expect(await waitingChecks()).toEqual(['free.test', 'held.test']);
    // The batch keeps the id of what it was offered, with only what it could claim.
    const batch = await queue.getJob(checkBatchJobId('dns', [checkJobId(b), checkJobId(a)]));
    expect(batch?.data.checks).toMatchObject([{ name: 'free.test' }]);

    // The job holding `a` is gone (its claim is not released: the job was lost): `a` is free.
    await (await queue.getJob(checkJobId(a)))!.remove();
    expect(await enqueueChecks(producer, [a], { memo: createOfferedChecks(), nowMs: 2_000 })).toBe(1);
    // Stored runs release their claims; nothing else reads them then.
    await producer.releaseChecks(queueNames.checksDns, [checkJobId(a), checkJobId(b)]);
    expect(await connection.exists(`${prefix}:${queueNames.checksDns}:claim:${checkJobId(a)}`)).toBe(0);
  });

  it('should carry the chunk of a name watched by more targets than a job takes', async () => {
    const slot = '2027-01-01T00:00:00.000Z';
    const chunks = [payload('big.test', slot), payload('big.test', slot)];
    expect(await enqueueChecks(producer, chunks)).toBe(2);
    const [job] = await queue.getWaiting();
    expect(job!.data.checks.map((c: { chunk?: number }) => c.chunk ?? 0)).toEqual([0, 1]);
    expect(job!.data.checks.map((c: Parameters<typeof checkJobId>[0]) => checkJobId(c))).toEqual([
      `dns.big.test.${Date.parse(slot)}.0`,
      `dns.big.test.${Date.parse(slot)}.1`,
    ]);
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

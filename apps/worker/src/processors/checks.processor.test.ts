/**
 * The check jobs' processor with the database left out (a recorder of its own): a batch job holds
 * its family to the process's limit of checks at once, but only while the checks run — recording
 * takes no slot; one check that fails fails the job with only the failed checks left in it, while
 * the others' events go out and their claims are released.
 */
import { createLogger, systemClock } from '@mailwarden/core';
import type { Database } from '@mailwarden/db';
import type { FamilyRunners, RecordedRun, RunRecorder, RunToRecord } from '@mailwarden/monitoring';
import type { LiveEventEmitter, Producer, RunCheckPayload } from '@mailwarden/queue';
import type { Job } from 'bullmq';
import { describe, expect, it, vi } from 'vitest';
import { createCheckProcessors } from './checks.processor.ts';

const log = createLogger('silent', 'test');
const tenantId = '0190b6b0-0000-7000-8000-0000000000aa';

function check(i: number): RunCheckPayload {
  return {
    name: `n${i}.test`,
    family: 'dns',
    slot: '2027-01-01T00:00:00.000Z',
    targets: [{ tenantId, domainId: `0190b6b0-0000-7000-8000-${String(i).padStart(12, '0')}` }],
  };
}

function fakeJob(data: unknown) {
  const job = {
    data,
    updateData: vi.fn(async (next: unknown) => {
      job.data = next;
    }),
  };
  return job as unknown as Job<unknown> & { updateData: ReturnType<typeof vi.fn> };
}

function fakeProducer() {
  return {
    enqueueBulk: vi.fn(async (_queue: string, jobs: unknown[]) => jobs.length),
    releaseChecks: vi.fn(async () => {}),
  };
}

/** Checks that wait for `release()`; counts how many run at once. */
function gatedRunners() {
  let running = 0;
  let most = 0;
  const gates: (() => void)[] = [];
  const runners: FamilyRunners = {
    dns: {
      optionsKey: () => '',
      async run() {
        running++;
        most = Math.max(most, running);
        await new Promise<void>((resolve) => gates.push(resolve));
        running--;
        return { results: [] };
      },
    },
  };
  return {
    runners,
    most: () => most,
    waiting: () => gates.length,
    release: () => {
      for (const open of gates.splice(0)) open();
    },
  };
}

function recorderWith(record: (run: RunToRecord) => Promise<RecordedRun>): RunRecorder {
  return {
    loadOptions: async () => ({ dkimSelectors: [], sendingIps: [], probeOptions: {} }),
    record,
  };
}

const settle = () => new Promise((r) => setTimeout(r, 10));

describe('check job processors', () => {
  it('should hold a family to its limit while checks run, and not while they are recorded', async () => {
    const gate = gatedRunners();
    let unblockRecords!: () => void;
    const recordsBlocked = new Promise<void>((resolve) => {
      unblockRecords = resolve;
    });
    const recorded: string[] = [];
    const { runChecks } = createCheckProcessors({
      db: {} as Database,
      runners: gate.runners,
      producer: fakeProducer() as unknown as Producer,
      clock: systemClock,
      concurrency: { dns: 2 },
      recorder: recorderWith(async (run) => {
        recorded.push(run.target.domainId);
        await recordsBlocked;
        return { stored: true, eventIds: [] };
      }),
    });
    const checks = [1, 2, 3, 4, 5].map(check);
    const done = runChecks(fakeJob({ family: 'dns', checks }), { log });
    await settle();
    expect(gate.waiting()).toBe(2);
    // The first two finish their checks and wait on the (blocked) recording: two more start.
    gate.release();
    await settle();
    expect(gate.waiting()).toBe(2);
    expect(recorded).toHaveLength(2);
    gate.release();
    await settle();
    gate.release();
    await settle();
    expect(recorded).toHaveLength(5);
    unblockRecords();
    await expect(done).resolves.toMatchObject({ checks: 5, runs: 5, stored: 5 });
    expect(gate.most()).toBe(2);
  });

  it('should fail a batch with only its failed checks left, after announcing the others', async () => {
    const producer = fakeProducer();
    const emitted: string[] = [];
    const live: LiveEventEmitter = {
      emit(message, callback) {
        emitted.push(message.payload.eventId);
        callback?.();
      },
    };
    const checks = [1, 2, 3].map(check);
    const failing = checks[1]!.targets[0]!.domainId;
    const counted: unknown[] = [];
    const { runChecks } = createCheckProcessors({
      db: {} as Database,
      runners: { dns: { optionsKey: () => '', run: async () => ({ results: [] }) } },
      producer: producer as unknown as Producer,
      clock: systemClock,
      live,
      onRunsRecorded: (family, runs) => counted.push({ family, ...runs }),
      recorder: recorderWith(async (run) => {
        if (run.target.domainId === failing) throw new Error('deadlock detected');
        const eventId = `0190b6b0-0000-7000-8000-${run.target.domainId.slice(-12)}`.replace(/.$/, 'e');
        return { stored: true, eventIds: [eventId], written: [{ id: eventId, type: 'finding.opened' }] };
      }),
    });
    const job = fakeJob({ family: 'dns', checks });
    await expect(runChecks(job, { log })).rejects.toThrow('deadlock detected');
    expect(job.updateData).toHaveBeenCalledWith({ family: 'dns', checks: [checks[1]] });
    // The two stored: one dispatch enqueue and one publish round for both, their claims released.
    expect(producer.enqueueBulk).toHaveBeenCalledTimes(1);
    expect(producer.enqueueBulk.mock.calls[0]![1]).toHaveLength(2);
    expect(emitted).toHaveLength(2);
    // Only what was committed counts (the worker's mailwarden_check_runs_total).
    expect(counted).toEqual([{ family: 'dns', runs: 2, stored: 2, skipped: 0 }]);
    expect(producer.releaseChecks).toHaveBeenCalledWith('checks-dns', [
      `dns.n1.test.${Date.parse(checks[0]!.slot)}.0`,
      `dns.n3.test.${Date.parse(checks[2]!.slot)}.0`,
    ]);
  });

  it('should refuse a batch that can never run', async () => {
    const { runChecks, runCheck } = createCheckProcessors({
      db: {} as Database,
      runners: {},
      producer: fakeProducer() as unknown as Producer,
      clock: systemClock,
      recorder: recorderWith(async () => ({ stored: true, eventIds: [] })),
    });
    await expect(runChecks(fakeJob({ family: 'dns', checks: [] }), { log })).rejects.toMatchObject({
      name: 'UnrecoverableError',
    });
    await expect(runCheck(fakeJob({ name: 'x.test' }), { log })).rejects.toMatchObject({
      name: 'UnrecoverableError',
    });
  });
});

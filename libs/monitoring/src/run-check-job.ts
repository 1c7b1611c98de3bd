/**
 * A run-check job: check one (name, family) once, record the result for every tenant that watches
 * the name (fan-out), and hand back the events to dispatch after the commits. Idempotent: a job
 * redone after a crash finds its slot already stored for the targets it finished.
 */
import { type Clock, systemClock } from '@mailwarden/core';
import type { Database } from '@mailwarden/db';
import type { EventRef, RunCheckPayload } from '@mailwarden/queue';
import type { FamilyOutcome } from './record-run.ts';
import { createRunRecorder, type RunRecorder } from './run-recorder.ts';
import type { DomainCheckOptions, FamilyRunners } from './runners.ts';

export interface RunCheckDeps {
  db: Database;
  runners: FamilyRunners;
  clock?: Clock;
  /** Jitter of the next slot; used only by the recorder this job makes when none is given. */
  random?: () => number;
  /**
   * Loads options and records runs, batched with the other jobs of the process (run-recorder.ts).
   * Without one, the job records its own targets (one transaction per tenant).
   */
  recorder?: RunRecorder;
  /**
   * Holds each run of the family's checks (and only that: not the option loads or the recording)
   * to the caller's limit of checks at once; without one, runs start at once.
   */
  limit?: <T>(run: () => Promise<T>) => Promise<T>;
}

export interface RunCheckSummary {
  /** Distinct runs of the family's checks (one unless the targets declared different options). */
  runs: number;
  stored: number;
  skipped: number;
  events: EventRef[];
  /** Every event written, for live subscribers (GraphQL), alerting or not. */
  live: { tenantId: string; eventId: string; domainId: string; type: string }[];
}

export async function runCheckJob(payload: RunCheckPayload, deps: RunCheckDeps): Promise<RunCheckSummary> {
  const clock = deps.clock ?? systemClock;
  const recorder =
    deps.recorder ?? createRunRecorder({ db: deps.db, ...(deps.random ? { random: deps.random } : {}) });
  const runner = deps.runners[payload.family];
  const slot = new Date(payload.slot);
  const groups = new Map<string, { options: DomainCheckOptions; targets: typeof payload.targets }>();
  let skipped = 0;
  // Each target's options, read in its tenant's transaction (targets with equal options share a run).
  const loaded = await Promise.all(payload.targets.map((target) => recorder.loadOptions(target)));
  payload.targets.forEach((target, i) => {
    const options = loaded[i];
    if (!options) {
      skipped++;
      return;
    }
    const key = runner ? runner.optionsKey(options) : '';
    const group = groups.get(key) ?? { options, targets: [] };
    group.targets.push(target);
    groups.set(key, group);
  });

  const summary: RunCheckSummary = { runs: 0, stored: 0, skipped, events: [], live: [] };
  for (const { options, targets } of groups.values()) {
    let outcome: FamilyOutcome;
    if (!runner) {
      outcome = {
        family: payload.family,
        startedAt: clock.now(),
        durationMs: 0,
        results: [],
        error: `no checks are available for family ${payload.family}`,
      };
    } else {
      // Timed from when the checks start, not from when the limit let them.
      const checks = async (): Promise<FamilyOutcome> => {
        const startedAt = clock.now();
        const started = performance.now();
        try {
          const run = await runner.run(payload.name, options);
          return { family: payload.family, startedAt, durationMs: performance.now() - started, ...run };
        } catch (err) {
          // Checks return data; a throw is a bug. Record it (the schedule moves on, nothing resolves).
          return {
            family: payload.family,
            startedAt,
            durationMs: performance.now() - started,
            results: [],
            error: err instanceof Error ? err.message : String(err),
          };
        }
      };
      outcome = await (deps.limit ? deps.limit(checks) : checks());
      summary.runs++;
    }
    const now = clock.now();
    const recorded = await Promise.all(
      targets.map((target) => recorder.record({ target, slot, outcome, now })),
    );
    targets.forEach((target, i) => {
      const run = recorded[i]!;
      if (run.stored) summary.stored++;
      else summary.skipped++;
      for (const eventId of run.eventIds) summary.events.push({ tenantId: target.tenantId, eventId });
      for (const event of run.written ?? [])
        summary.live.push({
          tenantId: target.tenantId,
          eventId: event.id,
          domainId: target.domainId,
          type: event.type,
        });
    });
  }
  return summary;
}

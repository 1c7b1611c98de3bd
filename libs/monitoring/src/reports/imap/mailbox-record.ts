/**
 * How a poll ends on the mailbox row: its outcome (counts, error code, the backoff to the next
 * poll), the alert it raises, and a refresh token the provider rotated, all written in ONE
 * transaction: the outbox rule, an event commits with the state that raised it or not at all.
 * Kept apart from the IMAP session because it is bookkeeping on the database only.
 *
 * Alerts: the failed poll that makes the streak reach `failingAfterConsecutiveFailures` writes
 * `report_mailbox.failing` to the outbox, and the first successful poll after it writes
 * `report_mailbox.recovered`. The caller enqueues their dispatch after commit (the outbox sweeper
 * catches a lost enqueue).
 *
 * A rotated refresh token is stored, sealed, only over the refresh token the poll started with, so
 * a new one the tenant set meanwhile wins (the same rule applies when the lease is released after
 * a throw, mailbox-lease.ts).
 */
import { type Clock, uuidv7 } from '@mailwarden/core';
import { type Database, type EventType, type ReportMailboxRow, schema, withTenant } from '@mailwarden/db';
import { eq, sql } from 'drizzle-orm';
import type { SessionOutcome } from './mailbox-session.ts';
import { failingAfterConsecutiveFailures } from './report-mailboxes.service.ts';

/** Backoff after failures never waits longer than this. */
export const maxPollBackoffSeconds = 6 * 3_600;

/** The wait before the next poll after `failures` failures in a row. */
export function pollBackoffSeconds(intervalSeconds: number, failures: number): number {
  return Math.min(maxPollBackoffSeconds, intervalSeconds * 2 ** Math.min(Math.max(failures - 1, 0), 10));
}

/**
 * The alert a poll's outcome raises, if any. `failing` once per failing spell: when the streak
 * reaches the threshold and none is open (`failing_reported_at`, so the 6th failure adds
 * nothing, and neither does a streak restarted by a settings change while still failing).
 * `recovered` on the first success while one is open, even when a settings change (the usual
 * fix) cleared the streak in between.
 */
function alertFor(
  row: ReportMailboxRow,
  outcome: SessionOutcome,
  failures: number,
): { type: EventType; severity: 'high' | 'info'; payload: Record<string, unknown> } | undefined {
  // The connection settings as the tenant entered them; never the password.
  const mailbox = {
    id: row.id,
    host: row.host,
    port: row.port,
    username: row.username,
    folder: row.folder,
  };
  if (outcome.error) {
    if (failures < failingAfterConsecutiveFailures || row.failingReportedAt) return undefined;
    return {
      type: 'report_mailbox.failing',
      severity: 'high',
      payload: {
        mailbox,
        lastError: { code: outcome.error.code, detail: outcome.error.detail },
        consecutiveFailures: failures,
        lastSuccessAt: row.lastSuccessAt?.toISOString() ?? null,
      },
    };
  }
  if (!row.failingReportedAt) return undefined;
  return {
    type: 'report_mailbox.recovered',
    severity: 'info',
    payload: {
      mailbox,
      lastError: row.lastErrorCode ? { code: row.lastErrorCode, detail: row.lastErrorDetail } : null,
      consecutiveFailures: row.consecutiveFailures,
      failingSince: row.failingReportedAt.toISOString(),
    },
  };
}

/**
 * A rotated refresh token (sealed) replaces the one the poll started with, and only that one:
 * a refresh token the tenant set in the meantime stays.
 */
export function refreshTokenRotation(row: ReportMailboxRow, rotatedCiphertext: string | undefined) {
  if (!rotatedCiphertext || !row.oauthRefreshTokenCiphertext) return {};
  const column = schema.reportMailboxes.oauthRefreshTokenCiphertext;
  return {
    oauthRefreshTokenCiphertext: sql`case when ${column} = ${row.oauthRefreshTokenCiphertext} then ${rotatedCiphertext} else ${column} end`,
  };
}

export function createMailboxRecorder(options: { db: Database; clock: Clock; pollIntervalSeconds: number }) {
  const { db, clock } = options;
  const { reportMailboxes } = schema;

  return {
    /**
     * The poll's outcome on the mailbox, its alert and a rotated refresh token in the same
     * transaction (the outbox rule). Also releases the lease.
     */
    async record(
      row: ReportMailboxRow,
      outcome: SessionOutcome,
      rotatedCiphertext: string | undefined,
    ): Promise<{ failures: number; eventIds: string[] }> {
      const now = clock.now();
      const failures = outcome.error ? row.consecutiveFailures + 1 : 0;
      const waitSeconds = outcome.error
        ? pollBackoffSeconds(options.pollIntervalSeconds, failures)
        : outcome.more
          ? 0
          : options.pollIntervalSeconds;
      const alert = alertFor(row, outcome, failures);
      const eventIds: string[] = [];
      await withTenant(db, row.tenantId, async (tx) => {
        await tx
          .update(reportMailboxes)
          .set({
            leaseUntil: null,
            lastPolledAt: now,
            nextPollAt: new Date(now.getTime() + waitSeconds * 1_000),
            consecutiveFailures: failures,
            lastStoredCount: outcome.stored,
            lastSkippedCount: outcome.skippedTooLarge,
            ...(outcome.error
              ? { lastErrorCode: outcome.error.code, lastErrorDetail: outcome.error.detail }
              : { lastSuccessAt: now, lastErrorCode: null, lastErrorDetail: null }),
            ...(alert ? { failingReportedAt: outcome.error ? now : null } : {}),
            ...refreshTokenRotation(row, rotatedCiphertext),
          })
          .where(eq(reportMailboxes.id, row.id));
        if (!alert) return;
        // A tenant-level event like `endpoint.disabled`: no domain, and no domain's maintenance
        // window or threshold applies; it reaches the endpoints subscribed to its type.
        const id = uuidv7(now.getTime());
        await tx.insert(schema.monitoringEvents).values({
          id,
          tenantId: row.tenantId,
          domainId: null,
          type: alert.type,
          severity: alert.severity,
          payload: alert.payload,
          occurredAt: now,
        });
        eventIds.push(id);
      });
      return { failures, eventIds };
    },
  };
}

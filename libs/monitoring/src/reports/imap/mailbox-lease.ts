/**
 * The lease that lets one poll at a time hold a mailbox: taken before the poll, and given back by
 * the transaction that records it (mailbox-record.ts) or, when the poll throws, by `release`. Kept
 * apart so the rule for who may poll a mailbox sits in one place.
 */
import type { Clock } from '@mailwarden/core';
import { type Database, type ReportMailboxRow, schema, withTenant } from '@mailwarden/db';
import { and, eq, isNull, lte, or } from 'drizzle-orm';
import { refreshTokenRotation } from './mailbox-record.ts';

export function createMailboxLease(options: {
  db: Database;
  clock: Clock;
  /** Must outlive everything one poll may do, so only a dead worker's lease ever expires. */
  leaseMs: number;
}) {
  const { db, clock, leaseMs } = options;
  const { reportMailboxes } = schema;

  return {
    /** Takes the mailbox for one poll, or undefined when disabled, deleted or held by another poll. */
    async claim(tenantId: string, mailboxId: string): Promise<ReportMailboxRow | undefined> {
      const now = clock.now();
      const [row] = await withTenant(db, tenantId, (tx) =>
        tx
          .update(reportMailboxes)
          .set({ leaseUntil: new Date(now.getTime() + leaseMs) })
          .where(
            and(
              eq(reportMailboxes.id, mailboxId),
              eq(reportMailboxes.enabled, true),
              or(isNull(reportMailboxes.leaseUntil), lte(reportMailboxes.leaseUntil, now)),
            ),
          )
          .returning(),
      );
      return row;
    },

    /**
     * Gives the mailbox back after a poll that threw, keeping a refresh token the provider
     * rotated meanwhile. Nothing else about the poll is recorded.
     */
    async release(row: ReportMailboxRow, rotatedCiphertext: string | undefined): Promise<void> {
      await withTenant(db, row.tenantId, (tx) =>
        tx
          .update(reportMailboxes)
          .set({ leaseUntil: null, ...refreshTokenRotation(row, rotatedCiphertext) })
          .where(eq(reportMailboxes.id, row.id)),
      );
    },
  };
}

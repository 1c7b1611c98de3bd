/**
 * The tick's keyset cursor over due work (scheduler.ts, `mailwarden_due_checks`): a tick that
 * offered the groups up to one reads only the groups after it, in the function's order (earliest
 * due time, then name and family byte-wise, as JavaScript compares them), and reads from the start
 * again once a minute or after a failed enqueue.
 *
 * The schedules here are due in 2001: every other test's schedules lie decades later, so the due
 * reads at 2001 times see only this file's rows, whatever runs beside it on the same database.
 */
import { uuidv7 } from '@mailwarden/core';
import { type Database, schema, withTenant } from '@mailwarden/db';
import { createTestTenant, openTestDatabase } from '@mailwarden/testing/db';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectDueChecks, createOfferedChecks, lastDueGroup } from './scheduler.ts';

let pool: pg.Pool;
let db: Database;
let tenantId: string;
const T0 = Date.parse('2001-02-03T04:05:06.000Z');
const NOW = new Date(T0 + 3_600_000);
const suffix = uuidv7().slice(-8);
// Byte-wise, '-' (0x2d) sorts before 'x'; a linguistic collation would ignore the hyphen and put
// "b-z" after "bx": the cursor would then skip a group.
const names = [`a-${suffix}.test`, `b-z-${suffix}.test`, `bx-${suffix}.test`, `c-${suffix}.test`];

beforeAll(async () => {
  ({ pool, db } = openTestDatabase());
  tenantId = (await createTestTenant(db)).id;
  await withTenant(db, tenantId, async (tx) => {
    const rows = names.map((name) => ({ id: uuidv7(), tenantId, name, verificationToken: 'x' }));
    await tx.insert(schema.domains).values(rows);
    await tx.insert(schema.domainSchedules).values(
      rows.map((r, i) => ({
        tenantId,
        domainId: r.id,
        family: 'dns' as const,
        intervalSeconds: 3600,
        // The last name falls due first: time orders before the name does.
        nextRunAt: new Date(i === names.length - 1 ? T0 - 1_000 : T0),
      })),
    );
  });
});

afterAll(async () => {
  await pool?.end();
});

const ours = (payloads: { name: string }[]) => payloads.map((p) => p.name).filter((n) => n.endsWith('.test'));

describe('due cursor', () => {
  it('should page through due groups in time, then byte-wise name order, skipping none', async () => {
    const everything = ours(await collectDueChecks(db, NOW));
    expect(everything.sort()).toEqual([...names].sort());

    const seen: string[] = [];
    let after: ReturnType<typeof lastDueGroup>;
    for (let page = 0; page < names.length + 1; page++) {
      const payloads = await collectDueChecks(db, NOW, 1, after);
      if (payloads.length === 0) break;
      seen.push(...ours(payloads));
      after = lastDueGroup(payloads);
    }
    expect(seen).toEqual([names[3], names[0], names[1], names[2]]);
    // Past the last group: nothing, until something falls due after it.
    expect(await collectDueChecks(db, NOW, 10, after)).toEqual([]);
  });

  it('should give a tick the cursor of the last reading for a minute, then read from the start', () => {
    const memo = createOfferedChecks(60_000);
    const cursor = { slotMs: T0, name: names[1]!, family: 'dns' as const };
    expect(memo.readFrom(1_000)).toBeUndefined();
    memo.readTo(cursor, 1_000, true);
    expect(memo.readFrom(2_000)).toEqual(cursor);
    // A reading after the cursor that found nothing leaves it where it was.
    memo.readTo(undefined, 2_000, false);
    expect(memo.readFrom(3_000)).toEqual(cursor);
    // A later group moves it; an earlier one (read from the cursor, so impossible) would not.
    const later = { ...cursor, name: names[2]! };
    memo.readTo(later, 4_000, false);
    memo.readTo(cursor, 5_000, false);
    expect(memo.readFrom(6_000)).toEqual(later);
    // A minute after the last reading from the start: from the start again.
    expect(memo.readFrom(61_000)).toBeUndefined();
    memo.readTo(cursor, 61_000, true);
    expect(memo.readFrom(62_000)).toEqual(cursor);
    // An enqueue that failed: what was read must be read again.
    memo.forget(['dns.x.0.0']);
    expect(memo.readFrom(63_000)).toBeUndefined();
  });
});

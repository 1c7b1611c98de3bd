/**
 * Raw report bytes read back with COPY … TO (FORMAT binary), against the run's real Postgres as
 * the app role: every byte value, sizes that span many protocol chunks, into a buffer that owns
 * its memory; nothing for another tenant's raw report (RLS) or a missing one.
 */
import { randomBytes } from 'node:crypto';
import { uuidv7 } from '@mailwarden/core';
import { withTenant } from '@mailwarden/db';
import { createTestTenant } from '@mailwarden/testing/db';
import { describe, expect, it } from 'vitest';
import { readRawReportBytes, storeRawReport } from './raw-reports.ts';
import { db, deps } from './reports.test-helper.ts';
import { transactionClient } from './tx-client.ts';

function read(tenantId: string, id: string) {
  return withTenant(db, tenantId, (tx) => readRawReportBytes(transactionClient(tx), id));
}

describe('readRawReportBytes', () => {
  it('should give back the stored bytes exactly, in a buffer of their own', async () => {
    const tenant = await createTestTenant(db);
    const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    for (const bytes of [
      every,
      Buffer.concat([every, randomBytes(3 * 1024 * 1024 + 17)]),
      Buffer.from('x'),
    ]) {
      const stored = await storeRawReport(deps(), tenant.id, 'upload', bytes);
      const back = await read(tenant.id, stored.id);
      expect(back?.equals(bytes)).toBe(true);
      expect(back?.byteOffset).toBe(0);
      expect(back?.buffer.byteLength).toBe(bytes.length);
    }
  });

  it("should give nothing for another tenant's raw report or a missing one", async () => {
    const owner = await createTestTenant(db);
    const other = await createTestTenant(db);
    const stored = await storeRawReport(deps(), owner.id, 'upload', randomBytes(1000));
    expect(await read(other.id, stored.id)).toBeUndefined();
    expect(await read(owner.id, uuidv7())).toBeUndefined();
    await expect(read(owner.id, "x' or true --")).rejects.toThrow('uuid');
  });
});

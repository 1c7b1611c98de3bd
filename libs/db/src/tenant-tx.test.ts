import { uuidv7 } from '@mailwarden/core';
import { createTestTenant, openTestDatabase } from '@mailwarden/testing';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { schema } from './index.ts';
import { withTenant } from './tenant-tx.ts';

const { pool, db } = openTestDatabase();
afterAll(() => pool.end());

async function addDomain(tenantId: string, name: string) {
  await withTenant(db, tenantId, (tx) =>
    tx.insert(schema.domains).values({ id: uuidv7(), tenantId, name, verificationToken: 'mw-verify-x' }),
  );
}

describe(withTenant.name, () => {
  it('should show a tenant only its own rows even when the query has no tenant filter', async () => {
    const a = await createTestTenant(db, 'A');
    const b = await createTestTenant(db, 'B');
    await addDomain(a.id, `a-${a.id.slice(-8)}.example`);
    await addDomain(b.id, `b-${b.id.slice(-8)}.example`);

    const seenByA = await withTenant(db, a.id, (tx) => tx.select().from(schema.domains));
    expect(seenByA.map((d) => d.tenantId)).toEqual([a.id]);
    const tenantsSeenByA = await withTenant(db, a.id, (tx) => tx.select().from(schema.tenants));
    expect(tenantsSeenByA.map((t) => t.id)).toEqual([a.id]);
  });

  it('should see no tenant rows at all outside a tenant transaction', async () => {
    const a = await createTestTenant(db);
    await addDomain(a.id, `none-${a.id.slice(-8)}.example`);
    expect(await db.select().from(schema.domains)).toEqual([]);
    expect(await db.select().from(schema.tenants)).toEqual([]);
  });

  it('should refuse to write a row into another tenant', async () => {
    const a = await createTestTenant(db);
    const b = await createTestTenant(db);
    await expect(
      withTenant(db, a.id, (tx) =>
        tx
          .insert(schema.domains)
          .values({ id: uuidv7(), tenantId: b.id, name: 'x.example', verificationToken: 't' }),
      ),
    ).rejects.toMatchObject({
      // insufficient_privilege: new row violates row-level security policy
      cause: { code: '42501', message: expect.stringMatching(/row-level security/) },
    });
  });

  it('should not let an update or delete reach another tenant', async () => {
    const a = await createTestTenant(db);
    const b = await createTestTenant(db);
    await addDomain(b.id, `keep-${b.id.slice(-8)}.example`);
    const updated = await withTenant(db, a.id, (tx) =>
      tx.update(schema.domains).set({ verificationToken: 'stolen' }).where(sql`true`).returning(),
    );
    const deleted = await withTenant(db, a.id, (tx) =>
      tx.delete(schema.domains).where(sql`true`).returning(),
    );
    expect(updated).toEqual([]);
    expect(deleted).toEqual([]);
    const stillThere = await withTenant(db, b.id, (tx) => tx.select().from(schema.domains));
    expect(stillThere).toHaveLength(1);
    expect(stillThere[0]!.verificationToken).toBe('mw-verify-x');
  });

  it('should not carry the tenant setting into the next use of a pooled connection', async () => {
    const a = await createTestTenant(db);
    await withTenant(db, a.id, async () => {});
    const client = await pool.connect();
    try {
      // Drain: every pooled connection must show an empty setting outside a transaction.
      const { rows } = await client.query("select current_setting('app.tenant_id', true) as t");
      expect(rows[0].t ?? '').toBe('');
    } finally {
      client.release();
    }
  });

  it('should refuse a tenant id that is not a uuid', async () => {
    await expect(withTenant(db, "x' or 1=1 --", async () => 1)).rejects.toThrow(/tenant uuid/);
  });
});

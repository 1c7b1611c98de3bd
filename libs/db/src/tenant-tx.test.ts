import { uuidv7 } from '@mailwarden/core';
import { createTestTenant, openTestDatabase } from '@mailwarden/testing';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase } from './client.ts';
import { schema } from './index.ts';
import { createPool } from './pool.ts';
import { queryAsTenant, sqlUuidArray, withTenant, withTenantClient } from './tenant-tx.ts';

const { pool, db, url } = openTestDatabase();
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

describe(withTenantClient.name, () => {
  it('should open the transaction with the statements it is given, and roll all of it back on error', async () => {
    const a = await createTestTenant(db, 'A');
    const b = await createTestTenant(db, 'B');
    await addDomain(a.id, `client-${a.id.slice(-8)}.example`);
    await addDomain(b.id, `client-${b.id.slice(-8)}.example`);
    const seen = await withTenantClient(
      db,
      a.id,
      async (_client, opened) => opened.map((r) => r.rows),
      "select tenant_id from domains; select current_setting('app.tenant_id') as t",
    );
    expect(seen).toEqual([[{ tenant_id: a.id }], [{ t: a.id }]]);

    const name = `rolled-back-${a.id.slice(-8)}.example`;
    await expect(
      withTenantClient(db, a.id, async (client) => {
        await client.query(
          'insert into domains (id, tenant_id, name, verification_token) values ($1, $2, $3, $4)',
          [uuidv7(), a.id, name, 't'],
        );
        await client.query('select 1/0');
      }),
    ).rejects.toMatchObject({ code: '22012' });
    const rows = await withTenant(db, a.id, (tx) => tx.select().from(schema.domains));
    expect(rows.map((r) => r.name)).not.toContain(name);
  });
});

describe(queryAsTenant.name, () => {
  it('should read as the tenant in one statement and leave nothing set on the connection', async () => {
    // One connection, so the next query surely runs on the same one.
    const single = createPool(url, { max: 1 });
    const singleDb = createDatabase(single);
    try {
      const a = await createTestTenant(singleDb, 'A');
      const b = await createTestTenant(singleDb, 'B');
      await addDomain(a.id, `one-${a.id.slice(-8)}.example`);
      await addDomain(b.id, `one-${b.id.slice(-8)}.example`);
      const rows = await queryAsTenant<{ tenant_id: string }>(
        singleDb,
        a.id,
        'select tenant_id from domains',
      );
      expect(rows).toEqual([{ tenant_id: a.id }]);
      const after = await single.query("select current_setting('app.tenant_id', true) as t");
      expect(after.rows[0].t ?? '').toBe('');
      await expect(queryAsTenant(singleDb, a.id, 'select 1/0')).rejects.toMatchObject({ code: '22012' });
      // Not left in an aborted transaction either: the next statement runs.
      const clean = await single.query("select current_setting('app.tenant_id', true) as t");
      expect(clean.rows[0].t ?? '').toBe('');
    } finally {
      await single.end();
    }
  });

  it('should refuse a tenant or a literal that is not a uuid', async () => {
    await expect(queryAsTenant(db, "x' or 1=1 --", 'select 1')).rejects.toThrow(/tenant uuid/);
    expect(() => sqlUuidArray([uuidv7(), "x'); drop table domains; --"])).toThrow(/uuids only/);
    const id = uuidv7();
    expect(sqlUuidArray([id])).toBe(`'{${id}}'::uuid[]`);
  });
});

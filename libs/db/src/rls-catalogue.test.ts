/**
 * The backstop of tenant isolation, checked against the live catalogue rather than the schema
 * files: every table with a tenant_id must have RLS enabled AND forced, with a policy that reads
 * app.tenant_id; and the role the apps connect as must not be able to step around it.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

let client: pg.Client;
const appRole = () => new URL(inject('databaseUrl')).username;

beforeAll(async () => {
  // Read the catalogue as a superuser: it sees every table, whatever its grants.
  const url = new URL(inject('adminDatabaseUrl'));
  url.pathname = new URL(inject('databaseUrl')).pathname;
  client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
});

afterAll(async () => {
  await client.end();
});

describe('row-level security catalogue', () => {
  it('should enable and force RLS with a tenant policy on every table that has a tenant_id', async () => {
    const { rows } = await client.query<{
      table: string;
      enabled: boolean;
      forced: boolean;
      policies: string[] | null;
    }>(`
      select c.relname as table, c.relrowsecurity as enabled, c.relforcerowsecurity as forced,
             (select array_agg(p.cmd || ': ' || p.qual || ' / ' || coalesce(p.with_check, '<none>'))
                from pg_policies p where p.schemaname = n.nspname and p.tablename = c.relname) as policies
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relkind in ('r', 'p')
         and (exists (select 1 from pg_attribute a
                       where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped)
              or c.relname = 'tenants')
       order by c.relname`);
    expect(rows.length).toBeGreaterThanOrEqual(4);
    const offenders = rows.filter(
      (r) =>
        !r.enabled || !r.forced || !r.policies?.some((p) => p.includes("current_setting('app.tenant_id'")),
    );
    expect(offenders.map((r) => r.table)).toEqual([]);
    // WITH CHECK too, so a tenant cannot write rows into another tenant. SELECT and DELETE policies
    // cannot carry one (they let no row in), so they are the kinds exempt.
    for (const row of rows) {
      expect(
        row.policies!.filter(
          (p) => !p.startsWith('SELECT: ') && !p.startsWith('DELETE: ') && p.endsWith('<none>'),
        ),
      ).toEqual([]);
    }
  });

  it('should allow the cross-tenant user directory only as SELECT policies on the three sign-in tables', async () => {
    // docs/decisions/0003: the one sanctioned read across tenants for sign-in, keyed on app.user_id.
    const { rows } = await client.query<{ table: string; cmd: string; permissive: string }>(
      `select tablename as table, cmd, permissive from pg_policies
        where schemaname = 'public' and (policyname <> 'tenant_isolation' or qual like '%app.user_id%')
          and not ('mailwarden_scheduler' = any(roles))
        order by tablename`,
    );
    expect(rows).toEqual([
      { table: 'memberships', cmd: 'SELECT', permissive: 'PERMISSIVE' },
      { table: 'tenant_settings', cmd: 'SELECT', permissive: 'PERMISSIVE' },
      { table: 'tenants', cmd: 'SELECT', permissive: 'PERMISSIVE' },
    ]);
  });

  it('should limit the scheduler role to reads and history purges, reachable by no login role', async () => {
    // docs/decisions/0004: cross-tenant reads for the scheduler tick, the outbox sweeper and retention.
    const { rows } = await client.query<{ table: string; cmd: string }>(
      `select tablename as table, cmd from pg_policies
        where schemaname = 'public' and 'mailwarden_scheduler' = any(roles)
        order by tablename, cmd`,
    );
    const writable = rows.filter((r) => r.cmd !== 'SELECT');
    expect(writable).toEqual([
      { table: 'check_runs', cmd: 'DELETE' },
      { table: 'domains', cmd: 'DELETE' },
      { table: 'findings', cmd: 'DELETE' },
      { table: 'monitoring_events', cmd: 'DELETE' },
      { table: 'posture_history', cmd: 'DELETE' },
      // Report retention (migration 0009): a raw report goes with everything parsed from it.
      { table: 'raw_reports', cmd: 'DELETE' },
    ]);
    // Reports (migration 0007): the sweeper finds pending raw reports and the SMTP receiver maps a
    // report address to its tenant; report contents are never readable across tenants.
    const readable = rows.filter((r) => r.cmd === 'SELECT').map((r) => r.table);
    expect(readable).toEqual(expect.arrayContaining(['raw_reports', 'report_addresses']));
    expect(readable.filter((t) => /^(dmarc|tls|failure)_report/.test(t))).toEqual([]);
    // IMAP intake (migration 0011): the worker's tick lists due report mailboxes (ids only).
    expect(readable).toContain('report_mailboxes');
    // Members: the owner only (it owns the SECURITY DEFINER functions); never the app role.
    const members = await client.query<{ member: string }>(
      `select m.rolname as member from pg_auth_members a
         join pg_roles r on r.oid = a.roleid join pg_roles m on m.oid = a.member
        where r.rolname = 'mailwarden_scheduler'`,
    );
    expect(members.rows.map((r) => r.member)).not.toContain(appRole());
    const reach = await client.query<{ can: boolean }>(
      "select pg_has_role($1, 'mailwarden_scheduler', 'MEMBER') as can",
      [appRole()],
    );
    expect(reach.rows[0]!.can).toBe(false);
  });

  it('should give the app role no way around RLS', async () => {
    const role = appRole();
    const { rows } = await client.query<{ rolsuper: boolean; rolbypassrls: boolean; rolcreaterole: boolean }>(
      'select rolsuper, rolbypassrls, rolcreaterole from pg_roles where rolname = $1',
      [role],
    );
    expect(rows).toEqual([{ rolsuper: false, rolbypassrls: false, rolcreaterole: false }]);

    // Nor through any role it is a member of.
    const inherited = await client.query(
      `select r.rolname from pg_roles r
        where pg_has_role($1, r.oid, 'MEMBER') and (r.rolsuper or r.rolbypassrls)`,
      [role],
    );
    expect(inherited.rows).toEqual([]);

    // It owns no table (owners could ALTER TABLE ... DISABLE ROW LEVEL SECURITY), directly or by membership.
    const owned = await client.query(
      `select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and pg_has_role($1, c.relowner, 'MEMBER')`,
      [role],
    );
    expect(owned.rows).toEqual([]);

    // And it cannot change the schema.
    const create = await client.query<{ can: boolean }>(
      "select has_schema_privilege($1, 'public', 'CREATE') as can",
      [role],
    );
    expect(create.rows[0]!.can).toBe(false);
  });

  it("should key every domain_id through its own tenant, so no row can name another tenant's domain", async () => {
    // Tables with both columns whose key to domains is not (tenant_id, domain_id) -> (tenant_id, id).
    // The exceptions: two report tables keep `on delete set null` on domain_id alone (a report
    // outlives the domain it matched, and a composite key would null the tenant too), and
    // dmarc_report_rows carries its report's domain_id unkeyed (a copy for the analytics indexes,
    // bulk-loaded; the report's own key holds). The ingest writes them from the tenant's own
    // domains, under RLS.
    const { rows } = await client.query<{ table: string }>(`
      select c.relname as table
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relkind = 'r'
         and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id')
         and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'domain_id')
         and not exists (
           select 1 from pg_constraint k
            where k.conrelid = c.oid and k.contype = 'f' and k.confrelid = 'domains'::regclass
              and (select array_agg(a.attname::text order by u.ord) from unnest(k.conkey) with ordinality u(n, ord)
                     join pg_attribute a on a.attrelid = c.oid and a.attnum = u.n) = array['tenant_id', 'domain_id']
              and (select array_agg(a.attname::text order by u.ord) from unnest(k.confkey) with ordinality u(n, ord)
                     join pg_attribute a on a.attrelid = k.confrelid and a.attnum = u.n) = array['tenant_id', 'id'])
       order by 1`);
    expect(rows.map((r) => r.table)).toEqual(['dmarc_report_rows', 'dmarc_reports', 'tls_report_policies']);
  });

  it('should refuse a monitoring row of one tenant that names a domain of another', async () => {
    const tenantA = '00000000-0000-7000-8000-00000000a001';
    const tenantB = '00000000-0000-7000-8000-00000000b001';
    const domainB = '00000000-0000-7000-8000-00000000b0d1';
    await client.query('begin');
    try {
      await client.query(`insert into tenants (id, name) values ($1, 'a'), ($2, 'b')`, [tenantA, tenantB]);
      await client.query(
        `insert into domains (id, tenant_id, name, verification_token) values ($1, $2, 'b.example', 't')`,
        [domainB, tenantB],
      );
      const insert = client.query(
        `insert into findings (id, tenant_id, domain_id, family, "check", fingerprint, code, severity, subject,
                               message, state, first_seen_at, opened_at, last_seen_at)
         values (gen_random_uuid(), $1, $2, 'dns', 'dmarc', 'f', 'dmarc.missing', 'high', 'b.example', 'm',
                 'open', now(), now(), now())`,
        [tenantA, domainB],
      );
      await expect(insert).rejects.toMatchObject({ code: '23503', constraint: 'findings_domain_fk' });
    } finally {
      await client.query('rollback');
    }
  });
});

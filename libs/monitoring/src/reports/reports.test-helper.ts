/**
 * TEST HELPER for the report storage tests: the run's database (opened and closed around the
 * importing file), corpus access, an independent record counter, watching a domain, intake, and
 * generated Google-shaped reports.
 */
import { readFileSync } from 'node:fs';
import { manualClock, uuidv7 } from '@mailwarden/core';
import { type Database, schema, withTenant } from '@mailwarden/db';
import { corpusPath } from '@mailwarden/testing/corpus';
import { openTestDatabase } from '@mailwarden/testing/db';
import { sql } from 'drizzle-orm';
import type pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { ingestRawReport } from './ingest.ts';
import { storeRawReport } from './raw-reports.ts';

export let pool: pg.Pool;
export let db: Database;
export const clock = manualClock(new Date('2026-11-28T00:00:00Z'));

beforeAll(() => {
  ({ pool, db } = openTestDatabase());
});
afterAll(async () => {
  await pool?.end();
});

export const deps = () => ({ db, clock });
export const corpus = (...parts: string[]) => readFileSync(corpusPath(...parts));

/** Independent oracle: `<record>` elements and the sum of `<count>` values. */
export function rawCounts(xml: string): { records: number; messages: number } {
  return {
    records: (xml.match(/<record>/g) ?? []).length,
    messages: [...xml.matchAll(/<count>\s*(\d+)\s*<\/count>/g)].reduce((s, m) => s + Number(m[1]), 0),
  };
}

export async function watch(tenantId: string, name: string): Promise<string> {
  const id = uuidv7();
  await withTenant(db, tenantId, (tx) =>
    tx.insert(schema.domains).values({ id, tenantId, name, verificationToken: `t${id.slice(0, 8)}` }),
  );
  return id;
}

export async function intake(tenantId: string, bytes: Uint8Array) {
  const stored = await storeRawReport(deps(), tenantId, 'upload', bytes);
  return { stored, result: await ingestRawReport(deps(), tenantId, stored.id) };
}

export async function tenantRows(tenantId: string) {
  return withTenant(db, tenantId, async (tx) => ({
    raw: await tx.select().from(schema.rawReports).orderBy(schema.rawReports.id),
    reports: await tx.select().from(schema.dmarcReports).orderBy(schema.dmarcReports.id),
    rows: await tx.execute<{ n: string; messages: string; days: string }>(
      sql`select count(*) as n, coalesce(sum(count), 0) as messages, count(distinct day) as days from dmarc_report_rows`,
    ),
    tls: await tx.select().from(schema.tlsReports),
  }));
}

/** A Google-shaped aggregate report with `records` records from a few fixed sources. */
export function generatedReport(opts: {
  records: number;
  domain: string;
  reportId: string;
  begin: number;
  end: number;
  p?: string;
  row?: (i: number) => string;
}): string {
  const rows: string[] = [];
  for (let i = 0; i < opts.records; i++) {
    rows.push(
      opts.row?.(i) ??
        `<record><row><source_ip>192.0.2.${(i % 200) + 1}</source_ip><count>${(i % 5) + 1}</count>
<policy_evaluated><disposition>none</disposition><dkim>${i % 3 === 0 ? 'fail' : 'pass'}</dkim><spf>pass</spf></policy_evaluated></row>
<identifiers><header_from>${opts.domain}</header_from></identifiers>
<auth_results><dkim><domain>${opts.domain}</domain><result>pass</result><selector>s${i % 4}</selector></dkim>
<spf><domain>${opts.domain}</domain><result>pass</result></spf></auth_results></record>`,
    );
  }
  return `<?xml version="1.0"?><feedback><report_metadata><org_name>google.com</org_name>
<email>noreply-dmarc-support@google.com</email><report_id>${opts.reportId}</report_id>
<date_range><begin>${opts.begin}</begin><end>${opts.end}</end></date_range></report_metadata>
<policy_published><domain>${opts.domain}</domain><adkim>r</adkim><aspf>r</aspf><p>${opts.p ?? 'none'}</p></policy_published>
${rows.join('\n')}</feedback>`;
}

/** One record with explicit results, for the analytics and advisor tests. */
export function record(
  ip: string,
  count: number,
  dkim: string,
  spf: string,
  authPass = false,
  disposition = 'none',
) {
  const auth = authPass
    ? '<auth_results><dkim><domain>esp.example.net</domain><result>pass</result></dkim><spf><domain>bounce.esp.example.net</domain><result>pass</result></spf></auth_results>'
    : '<auth_results><spf><domain>forged.example</domain><result>fail</result></spf></auth_results>';
  return `<record><row><source_ip>${ip}</source_ip><count>${count}</count><policy_evaluated><disposition>${disposition}</disposition><dkim>${dkim}</dkim><spf>${spf}</spf></policy_evaluated></row><identifiers><header_from>shop.test</header_from></identifiers>${auth}</record>`;
}

/**
 * Report analytics over GraphQL: the same answers as REST for the same data, tenant isolation,
 * REST's refusals with the same codes, API keys, cost weights, and a constant number of SQL
 * statements whatever the number of domains (reportSummary and enforcementAdvice are loaders).
 * Reports are stored and ingested for real (the worker's ingest, run in-process); source names come
 * from the loopback DNS server.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { decodeId, encodeId, systemClock } from '@mailwarden/core';
import { ingestRawReport } from '@mailwarden/monitoring';
import { corpusPath } from '@mailwarden/testing/corpus';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureOperation } from '../src/graphql/limits.ts';
import { bearer, gql, type SignedUp, signUp } from './auth-helpers.ts';
import { type MonitoringTestbed, startMonitoringTestbed, uniqueApex } from './monitoring-helpers.ts';
import { countStatements } from './statement-counter.ts';

// Source addresses of this run only: the name cache (source_ip_names) is shared by every test.
const second = randomInt(1, 255);
const third = randomInt(0, 256);
const ip = (n: number) => `10.${second}.${third}.${n}`;
const DAY = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
const BEGIN = Date.parse(`${DAY}T00:00:00Z`) / 1000;

let bed: MonitoringTestbed;
let owner: SignedUp;
let apex: string;
let dom: string;
let upload: string;

const codes = (body: { errors?: { extensions: { code: string } }[] }) =>
  (body.errors ?? []).map((e) => e.extensions.code);

interface Row {
  ip: string;
  count: number;
  dkim: 'pass' | 'fail';
  spf: 'pass' | 'fail';
  /** DKIM and SPF pass for an ESP's own domain (authenticated, not aligned). */
  esp?: boolean;
  disposition?: string;
}

function aggregateXml(domain: string, reportId: string, rows: Row[], p = 'none'): string {
  const records = rows.map((r) => {
    const auth = r.esp
      ? '<auth_results><dkim><domain>esp.example.net</domain><result>pass</result></dkim><spf><domain>bounce.esp.example.net</domain><result>pass</result></spf></auth_results>'
      : `<auth_results><spf><domain>${domain}</domain><result>${r.spf}</result></spf></auth_results>`;
    return `<record><row><source_ip>${r.ip}</source_ip><count>${r.count}</count><policy_evaluated><disposition>${r.disposition ?? 'none'}</disposition><dkim>${r.dkim}</dkim><spf>${r.spf}</spf></policy_evaluated></row><identifiers><header_from>${domain}</header_from></identifiers>${auth}</record>`;
  });
  return `<?xml version="1.0"?><feedback><report_metadata><org_name>google.com</org_name>
<email>noreply-dmarc-support@google.com</email><report_id>${reportId}</report_id>
<date_range><begin>${BEGIN}</begin><end>${BEGIN + 86_399}</end></date_range></report_metadata>
<policy_published><domain>${domain}</domain><adkim>r</adkim><aspf>r</aspf><p>${p}</p></policy_published>
${records.join('\n')}</feedback>`;
}

/** RFC 8460's example report, moved to this run's day and domain. */
function tlsReport(domain: string): string {
  const report = JSON.parse(readFileSync(corpusPath('smtp-tls', 'parsedmarc', 'rfc8460.json'), 'utf8'));
  report['report-id'] = randomUUID();
  report['date-range'] = { 'start-datetime': `${DAY}T00:00:00Z`, 'end-datetime': `${DAY}T23:59:59Z` };
  report.policies[0].policy['policy-domain'] = domain;
  return JSON.stringify(report);
}

/** What an upload and the worker's parse job do: store the bytes, then ingest them. */
async function ingest(typedTenantId: string, text: string): Promise<string> {
  const tenantId = decodeId('ten', typedTenantId)!;
  const stored = await bed.t.container.reports.store(tenantId, 'upload', Buffer.from(text));
  const result = await ingestRawReport({ db: bed.t.container.db, clock: systemClock }, tenantId, stored.id);
  expect(result.state).toBe('parsed');
  return encodeId('rpt', stored.id);
}

async function watch(typedTenantId: string, name: string): Promise<string> {
  return (await bed.t.container.monitoring.domains.add(decodeId('ten', typedTenantId)!, name)).id;
}

beforeAll(async () => {
  // A long auth cache so the statement counts below are the query's own, not credential checks.
  bed = await startMonitoringTestbed({ AUTH_CACHE_TTL_MS: '60000' });
  owner = await signUp(bed.t);
  apex = uniqueApex('rpt');
  // 1: the domain's own server (forward-confirmed); 2: an ESP; 3: a PTR that does not point back.
  bed.dns.setZone(`${third}.${second}.10.in-addr.arpa`, {
    records: {
      '1': { PTR: [`mail.${apex}`] },
      '2': { PTR: [`o1.ptr${third}.sendgrid.net`] },
      '3': { PTR: [`spoof.${apex}`] },
    },
  });
  bed.dns.setZone(apex, { records: { mail: { A: [ip(1)] } } });
  bed.dns.setZone('sendgrid.net', { records: { [`o1.ptr${third}`]: { A: [ip(2)] } } });
  dom = await watch(owner.tenantId, apex);
  upload = await ingest(
    owner.tenantId,
    aggregateXml(apex, `gql-${randomUUID()}`, [
      { ip: ip(1), count: 900, dkim: 'pass', spf: 'pass' },
      { ip: ip(2), count: 60, dkim: 'fail', spf: 'fail', esp: true },
      { ip: ip(3), count: 40, dkim: 'fail', spf: 'fail', disposition: 'reject' },
      { ip: ip(1), count: 5, dkim: 'pass', spf: 'fail' },
    ]),
  );
  await ingest(owner.tenantId, tlsReport(apex));
});
afterAll(() => bed?.close());

const SUMMARY = `
  domainId window { from to }
  totals { day messages dmarcPass dkimAligned spfAligned dispositions { none quarantine reject }
           passRate dkimAlignedRate spfAlignedRate }
  days { day messages dmarcPass dkimAligned spfAligned dispositions { none quarantine reject } }
  topSources { ip messages dmarcPass passRate name { ptr forwardConfirmed provider { id name } } }
  reporters { orgName reports messages }
  tls { successfulSessions failedSessions failures { resultType mx sessions } }`;
const SOURCE =
  'ip messages failing passRate kind headerFrom name { ptr forwardConfirmed provider { id name } }';
const ADVICE = `
  domainId window { from to } currentPolicy recommendation messages passRate thresholdMessages
  blockingSources { ${SOURCE} } unauthenticatedSources { ${SOURCE} }`;
const REPORT = 'id kind orgName reportId policyDomain domainId begin end recordCount messageCount receivedAt';

async function rest(path: string, token = owner.accessToken) {
  const res = await bed.t.app.inject({ url: path, headers: bearer(token) });
  return { status: res.statusCode, body: res.json() };
}

describe('answers', () => {
  it('should give the summary and the advice REST gives, for a window and for the defaults', async () => {
    const window = `from: "${DAY}", to: "${DAY}"`;
    const { body } = await gql(
      bed.t,
      `{ domain(id: "${dom}") {
           windowed: reportSummary(${window}) { ${SUMMARY} }
           defaulted: reportSummary { ${SUMMARY} }
           advice: enforcementAdvice(${window}) { ${ADVICE} }
           defaultAdvice: enforcementAdvice { ${ADVICE} } } }`,
      { token: owner.accessToken },
    );
    expect(body.errors).toBeUndefined();
    const summary = await rest(`/v1/domains/${dom}/reports/summary?from=${DAY}&to=${DAY}`);
    expect(summary.status).toBe(200);
    expect(body.data.domain.windowed).toEqual(summary.body);
    expect(body.data.domain.defaulted).toEqual((await rest(`/v1/domains/${dom}/reports/summary`)).body);
    const advice = await rest(`/v1/domains/${dom}/enforcement-advice?from=${DAY}&to=${DAY}`);
    expect(body.data.domain.advice).toEqual(advice.body);
    expect(body.data.domain.defaultAdvice).toEqual(
      (await rest(`/v1/domains/${dom}/enforcement-advice`)).body,
    );

    // The data is really there, so the equalities above compare something.
    const windowed = body.data.domain.windowed;
    expect(windowed.totals).toMatchObject({ messages: 1005, dmarcPass: 905, passRate: 0.9005 });
    expect(windowed.days).toHaveLength(1);
    expect(windowed.topSources.map((s: { ip: string }) => s.ip)).toEqual([ip(1), ip(2), ip(3)]);
    expect(windowed.tls).toMatchObject({ successfulSessions: 5326, failedSessions: 303 });
    expect(windowed.tls.failures[0]).toEqual({
      resultType: 'starttls-not-supported',
      mx: 'mx2.mail.company-y.example',
      sessions: 200,
    });
    expect(body.data.domain.advice).toMatchObject({
      recommendation: 'fix_sources_first',
      blockingSources: [{ ip: ip(2), kind: 'authenticated_unaligned' }],
      unauthenticatedSources: [{ ip: ip(3), kind: 'unauthenticated' }],
    });
  });

  it('should name the sources from reverse DNS, confirmed forward, with the sending service', async () => {
    const { body } = await gql(
      bed.t,
      `{ domain(id: "${dom}") {
           reportSummary(from: "${DAY}", to: "${DAY}") {
             topSources { ip name { ptr forwardConfirmed provider { id name } } } }
           enforcementAdvice(from: "${DAY}", to: "${DAY}") {
             blockingSources { ip name { ptr provider { id } } } } } }`,
      { token: owner.accessToken },
    );
    expect(body.errors).toBeUndefined();
    expect(body.data.domain.reportSummary.topSources).toEqual([
      { ip: ip(1), name: { ptr: `mail.${apex}`, forwardConfirmed: true, provider: null } },
      {
        ip: ip(2),
        name: {
          ptr: `o1.ptr${third}.sendgrid.net`,
          forwardConfirmed: true,
          provider: { id: 'sendgrid', name: 'SendGrid (Twilio)' },
        },
      },
      // Shown as a hint, never trusted for a provider.
      { ip: ip(3), name: { ptr: `spoof.${apex}`, forwardConfirmed: false, provider: null } },
    ]);
    expect(body.data.domain.enforcementAdvice.blockingSources).toEqual([
      { ip: ip(2), name: { ptr: `o1.ptr${third}.sendgrid.net`, provider: { id: 'sendgrid' } } },
    ]);

    // REST names them the same way.
    const summary = await rest(`/v1/domains/${dom}/reports/summary?from=${DAY}&to=${DAY}`);
    expect(summary.status).toBe(200);
    expect(summary.body.topSources.map((s: { ip: string; name: unknown }) => [s.ip, s.name])).toEqual(
      body.data.domain.reportSummary.topSources.map((s: { ip: string; name: unknown }) => [s.ip, s.name]),
    );
    const advice = await rest(`/v1/domains/${dom}/enforcement-advice?from=${DAY}&to=${DAY}`);
    expect(advice.body.blockingSources[0].name).toEqual({
      ptr: `o1.ptr${third}.sendgrid.net`,
      forwardConfirmed: true,
      provider: { id: 'sendgrid', name: 'SendGrid (Twilio)' },
    });
    expect(advice.body.unauthenticatedSources[0].name).toMatchObject({
      ptr: `spoof.${apex}`,
      provider: null,
    });
  });

  it('should list reports page by page like REST, and show an upload and the report address', async () => {
    const token = owner.accessToken;
    const first = await gql(
      bed.t,
      `{ reports(first: 1) { nodes { ${REPORT} domain { id name } } pageInfo { endCursor hasNextPage } } }`,
      { token },
    );
    expect(first.body.errors).toBeUndefined();
    const restFirst = await rest('/v1/reports?limit=1');
    const [node] = first.body.data.reports.nodes;
    const { domain, ...fields } = node;
    expect([fields]).toEqual(restFirst.body.items);
    expect(domain).toEqual({ id: dom, name: apex });
    expect(first.body.data.reports.pageInfo).toEqual({
      endCursor: restFirst.body.nextCursor,
      hasNextPage: true,
    });
    const second = await gql(
      bed.t,
      `query($after: String) { reports(first: 1, after: $after) { nodes { ${REPORT} } pageInfo { hasNextPage } } }`,
      { token, variables: { after: restFirst.body.nextCursor } },
    );
    const restSecond = await rest(`/v1/reports?limit=1&cursor=${restFirst.body.nextCursor}`);
    expect(second.body.data.reports.nodes).toEqual(restSecond.body.items);
    expect(second.body.data.reports.pageInfo.hasNextPage).toBe(false);
    expect(restSecond.body.nextCursor).toBeNull();

    const filtered = await gql(bed.t, `{ reports(kind: tls, domainId: "${dom}") { nodes { ${REPORT} } } }`, {
      token,
    });
    expect(filtered.body.data.reports.nodes).toEqual(
      (await rest(`/v1/reports?kind=tls&domainId=${dom}`)).body.items,
    );
    expect(filtered.body.data.reports.nodes).toHaveLength(1);

    const misc = await gql(
      bed.t,
      `{ reportUpload(id: "${upload}") { id receivedVia sha256 size receivedAt state errorCode errorDetail parsedAt }
         reportAddress { address rua tlsRpt authorizationRecord } }`,
      { token },
    );
    expect(misc.body.errors).toBeUndefined();
    expect(misc.body.data.reportUpload).toEqual((await rest(`/v1/reports/uploads/${upload}`)).body);
    expect(misc.body.data.reportUpload.state).toBe('parsed');
    expect(misc.body.data.reportAddress).toEqual((await rest('/v1/reports/address')).body);
  });

  it('should answer with an API key like with a session, and refuse anonymous callers', async () => {
    const key = (
      await bed.t.app.inject({
        method: 'POST',
        url: '/v1/api-keys',
        headers: bearer(owner.accessToken),
        payload: { name: 'dashboard', scopes: ['read'] },
      })
    ).json().key as string;
    const query = `{ domains { nodes { id reportSummary(from: "${DAY}", to: "${DAY}") { totals { messages } } } }
                     reports { nodes { id } } reportAddress { address } }`;
    const withKey = await gql(bed.t, query, { token: key });
    expect(withKey.body.errors).toBeUndefined();
    const withSession = await gql(bed.t, query, { token: owner.accessToken });
    expect(withKey.body.data).toEqual(withSession.body.data);
    expect(withKey.body.data.domains.nodes[0].reportSummary.totals.messages).toBe(1005);
    const anonymous = await gql(bed.t, query);
    expect(codes(anonymous.body)).toContain('unauthenticated');
  });
});

describe('tenant isolation', () => {
  it("should answer not_found for another tenant's domain and upload, and list none of its reports", async () => {
    const other = await signUp(bed.t);
    const token = other.accessToken;
    for (const query of [
      `{ domain(id: "${dom}") { reportSummary { domainId } } }`,
      `{ domain(id: "${dom}") { enforcementAdvice { domainId } } }`,
      `{ reports(domainId: "${dom}") { nodes { id } } }`,
      `{ reportUpload(id: "${upload}") { id } }`,
    ]) {
      const { body } = await gql(bed.t, query, { token });
      expect(codes(body), query).toEqual(['not_found']);
    }
    const list = await gql(bed.t, '{ reports { nodes { id } pageInfo { hasNextPage } } }', { token });
    expect(list.body.data.reports).toEqual({ nodes: [], pageInfo: { hasNextPage: false } });
    // The batch readers behind the loaders: a foreign id is simply absent.
    const otherTenant = decodeId('ten', other.tenantId)!;
    const domainId = decodeId('dom', dom)!;
    const { reports } = bed.t.container;
    expect((await reports.summariesForDomains(otherTenant, [domainId])).size).toBe(0);
    expect((await reports.enforcementAdviceForDomains(otherTenant, [domainId])).size).toBe(0);
    const mine = await reports.summariesForDomains(decodeId('ten', owner.tenantId)!, [domainId], {
      from: DAY,
      to: DAY,
    });
    expect(mine.get(domainId)?.totals.messages).toBe(1005);
  });
});

describe('refusals', () => {
  /** The GraphQL field and the REST route refuse the same input with the same code. */
  async function sameCode(query: string, path: string, code: string) {
    const { body } = await gql(bed.t, query, { token: owner.accessToken });
    expect(codes(body), query).toEqual([code]);
    const res = await rest(path);
    expect(res.body.code, path).toBe(code);
    return body;
  }

  it('should refuse a bad window with REST’s code, in that field only', async () => {
    const summary = (args: string) => `{ domain(id: "${dom}") { reportSummary(${args}) { domainId } } }`;
    const advice = (args: string) => `{ domain(id: "${dom}") { enforcementAdvice(${args}) { domainId } } }`;
    const url = (kind: string, query: string) => `/v1/domains/${dom}/${kind}?${query}`;
    const cases: [string, string][] = [
      ['from: "2026-12-01", to: "2026-11-01"', 'from=2026-12-01&to=2026-11-01'],
      ['from: "last week"', 'from=last%20week'],
      ['from: "2024-01-01", to: "2026-01-01"', 'from=2024-01-01&to=2026-01-01'],
      [`to: "${'9'.repeat(33)}"`, `to=${'9'.repeat(33)}`],
    ];
    for (const [args, query] of cases) {
      const body = await sameCode(summary(args), url('reports/summary', query), 'validation_failed');
      expect(body.errors[0].path).toEqual(['domain', 'reportSummary']);
      await sameCode(advice(args), url('enforcement-advice', query), 'validation_failed');
    }
    const reversed = await gql(bed.t, summary('from: "2026-12-01", to: "2026-11-01"'), {
      token: owner.accessToken,
    });
    expect(reversed.body.errors[0].message).toBe('from must not be after to');

    // One refused window leaves the other aliases of the query answering (twice: the second run
    // is the compiled query).
    for (let run = 0; run < 2; run++) {
      const { body } = await gql(
        bed.t,
        `{ domain(id: "${dom}") { ok: reportSummary(from: "${DAY}", to: "${DAY}") { totals { messages } }
             bad: reportSummary(from: "nope") { domainId } } }`,
        { token: owner.accessToken },
      );
      expect(codes(body)).toEqual(['validation_failed']);
      expect(body.errors[0].path).toEqual(['domain', 'bad']);
      expect(body.data.domain).toEqual({ ok: { totals: { messages: 1005 } }, bad: null });
    }
  });

  it('should refuse bad pages, cursors and ids with REST’s codes', async () => {
    await sameCode('{ reports(first: 0) { nodes { id } } }', '/v1/reports?limit=0', 'validation_failed');
    await sameCode('{ reports(first: 201) { nodes { id } } }', '/v1/reports?limit=201', 'validation_failed');
    await sameCode(
      '{ reports(after: "rpt_nope") { nodes { id } } }',
      '/v1/reports?cursor=rpt_nope',
      'validation_failed',
    );
    await sameCode(
      '{ reports(domainId: "x") { nodes { id } } }',
      '/v1/reports?domainId=x',
      'validation_failed',
    );
    await sameCode(
      '{ reports(domainId: "dom_00000000000000000000000000") { nodes { id } } }',
      '/v1/reports?domainId=dom_00000000000000000000000000',
      'not_found',
    );
    await sameCode('{ reportUpload(id: "x") { id } }', '/v1/reports/uploads/x', 'validation_failed');
    await sameCode('{ reportUpload(id: "rpt_nope") { id } }', '/v1/reports/uploads/rpt_nope', 'not_found');
    const badKind = await gql(bed.t, '{ reports(kind: dmarc) { nodes { id } } }', {
      token: owner.accessToken,
    });
    expect(codes(badKind.body)).toEqual(['validation_failed']);
  });
});

describe('cost and SQL statements', () => {
  const DASHBOARD = `query Reports($first: Int!, $from: String, $to: String) {
    domains(first: $first) { nodes { id name
      reportSummary(from: $from, to: $to) {
        totals { messages passRate } days { day messages dmarcPass }
        topSources { ip messages name { ptr provider { name } } }
        reporters { orgName messages } tls { failedSessions failures { resultType mx sessions } } }
      enforcementAdvice(from: $from, to: $to) {
        recommendation currentPolicy blockingSources { ip name { ptr } } unauthenticatedSources { ip } } }
    pageInfo { hasNextPage } } }`;

  it('should weigh summaries and advice so that many domains of them are bounded', async () => {
    const { schema } = bed.t.app.graphql;
    const cost = (query: string, variables: Record<string, unknown> = {}) =>
      measureOperation(schema, parse(query), undefined, variables).cost;
    // domains 1 + nodes 100 + reportSummary 100 × 50 + domainId 100.
    expect(cost('{ domains(first: 100) { nodes { reportSummary { domainId } } } }')).toBe(5_201);
    // The dashboard above fits a page of 100 domains under the default cap, not of 200.
    expect(cost(DASHBOARD, { first: 100 })).toBeLessThan(bed.t.config.GRAPHQL_MAX_COST);
    expect(cost(DASHBOARD, { first: 200 })).toBeGreaterThan(bed.t.config.GRAPHQL_MAX_COST);
    const refused = await gql(bed.t, DASHBOARD, { token: owner.accessToken, variables: { first: 200 } });
    expect(refused.status).toBe(400);
    expect(codes(refused.body)).toEqual(['query_too_complex']);
  });

  async function tenantWithReports(n: number) {
    const tenant = await signUp(bed.t);
    for (let i = 0; i < n; i++) {
      const name = uniqueApex(`r${n}-${i}`);
      await watch(tenant.tenantId, name);
      await ingest(
        tenant.tenantId,
        aggregateXml(name, `n${n}-${i}-${randomUUID()}`, [
          { ip: ip(1), count: 100 + i, dkim: 'pass', spf: 'pass' },
          { ip: ip(2), count: 20, dkim: 'fail', spf: 'fail', esp: true },
          { ip: ip(3), count: 5, dkim: 'fail', spf: 'fail' },
        ]),
      );
    }
    return tenant;
  }

  it('should cost the same statements for 50 domains as for 5', async () => {
    const small = await tenantWithReports(5);
    const large = await tenantWithReports(50);
    const run = async (tenant: SignedUp) => {
      const { body } = await gql(bed.t, DASHBOARD, {
        token: tenant.accessToken,
        variables: { first: 50, from: DAY, to: DAY },
      });
      expect(body.errors).toBeUndefined();
      return body.data.domains.nodes as {
        reportSummary: { totals: { messages: number }; topSources: { name: { ptr: string } | null }[] };
        enforcementAdvice: { recommendation: string };
      }[];
    };
    // Warm up: credential caches, compiled queries, the source-name cache.
    await run(small);
    await run(large);
    let nodes: Awaited<ReturnType<typeof run>> = [];
    const forSmall = await countStatements(async () => {
      nodes = await run(small);
    });
    expect(nodes).toHaveLength(5);
    const forLarge = await countStatements(async () => {
      nodes = await run(large);
    });
    expect(nodes).toHaveLength(50);
    for (const [i, node] of nodes.entries()) {
      expect(node.reportSummary.totals.messages).toBe(100 + i + 25);
      expect(node.reportSummary.topSources[0]?.name?.ptr).toBe(`mail.${apex}`);
      expect(node.enforcementAdvice.recommendation).toBe('fix_sources_first');
    }
    expect(forLarge).toBe(forSmall);
    // domains (with schedules), summaries (domain check + 5), advice (domain check + 2), each in a
    // short transaction, and one read of the name cache per source type: 19 when written.
    expect(forSmall).toBeLessThanOrEqual(22);
  });
});

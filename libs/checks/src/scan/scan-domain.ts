/**
 * `scanDomain`: every mail-authentication check of one domain, run together over one shared,
 * memoising resolver, scored into a posture. This is what the CLI, the worker and the API call;
 * the I/O (a Resolver, two HTTPS fetch functions, a clock) is passed in, so the orchestration
 * stays pure and is unit-tested with an in-memory zone.
 *
 * Order and concurrency: every check starts at once except two that need another's result —
 * MTA-STS needs the MX hosts (RFC 8461 §4.1 coverage) and BIMI needs the DMARC result (BIMI
 * requires DMARC enforcement). Their first DNS question is asked up front anyway (`prefetch`), so
 * waiting for the dependency costs no extra round trip on the critical path.
 *
 * Queries: one memoising resolver per scan, shared by all checks and by the fetchers' address
 * lookups, so no (name, type) is asked twice in a scan (the SPF `mx` term and the MX check, the
 * DMARC walks, the policy host's A/AAAA). The process-wide TTL cache of libs/net removes repeats
 * across scans.
 *
 * Never throws for DNS or fetch problems: those are results (`unknown`). A check that throws (a
 * bug) or outlives the scan deadline ends as an `unknown` result whose facts say why, so one bad
 * domain in a bulk run cannot take the run down.
 */
import type { Resolver } from '@mailwarden/core';
import { type BimiFacts, checkBimi } from '../bimi/bimi.ts';
import { candidateNames } from '../bimi/discovery.ts';
import type { FetchOptions, FetchResult } from '../bimi/fetch.ts';
import type { BlocklistFacts } from '../blocklist/blocklist.ts';
import { type BlocklistZone, DEFAULT_DOMAIN_BLOCKLISTS, DEFAULT_IP_BLOCKLISTS } from '../blocklist/lists.ts';
import { checkDomainBlocklists } from '../blocklist/subjects.ts';
import { checkDkim, type DkimFacts } from '../dkim/dkim.ts';
import { MAX_SELECTORS_PER_DOMAIN, normalizeSelector } from '../dkim/selectors.ts';
import { checkDmarc, type DmarcFacts } from '../dmarc/dmarc.ts';
import type { CheckName, CheckResult } from '../findings.ts';
import {
  analyseMtaSts,
  type MtaStsFacts,
  type PolicyFetchResult,
  policyUrl,
} from '../mta-sts/analyse-mta-sts.ts';
import { analyseMx, type MxFacts } from '../mx/analyse-mx.ts';
import { computePosture, type Posture } from '../posture/posture.ts';
import { clip, normalizeDnsName } from '../shared/dns-name.ts';
import { memoizeResolver } from '../shared/memo-resolver.ts';
import { analyseSpf, type SpfFacts } from '../spf/analyse.ts';
import { checkTlsRpt, type TlsRptFacts } from '../tls-rpt/tls-rpt.ts';

/** The checks a scan runs by default, in report order. */
export const SCAN_CHECKS = ['mx', 'spf', 'dkim', 'dmarc', 'mta_sts', 'tls_rpt', 'bimi'] as const;
/**
 * Checks a scan runs only when asked (`checks`, or `blocklists` given): blocklist queries go to
 * third-party lists with their own usage terms, so a plain scan never sends them.
 */
export const OPTIONAL_SCAN_CHECKS = ['blocklist'] as const;
/** Every check a scan knows, in report order. */
export const ALL_SCAN_CHECKS = [...SCAN_CHECKS, ...OPTIONAL_SCAN_CHECKS] as const;
export type ScanCheckName = (typeof ALL_SCAN_CHECKS)[number] & CheckName;

/** The lists the blocklist check asks (lists.ts), and the sending IPs to check besides the MX addresses. */
export interface ScanBlocklistOptions {
  ipLists?: readonly BlocklistZone[];
  domainLists?: readonly BlocklistZone[];
  sendingIps?: readonly string[];
}

/** A scan that has not finished by then is cut short; its unfinished checks end as `unknown`. */
export const DEFAULT_SCAN_DEADLINE_MS = 120_000;

/** What a fetcher gets besides the URL: the scan's resolver, so address lookups are shared. */
export interface ScanFetchContext {
  resolver: Resolver;
}
export type ScanFetchPolicy = (url: string, context: ScanFetchContext) => Promise<PolicyFetchResult>;
export type ScanFetchResource = (
  url: string,
  options: FetchOptions,
  context: ScanFetchContext,
) => Promise<FetchResult>;

export interface ScanOptions {
  resolver: Resolver;
  /** GET of the MTA-STS policy (libs/net `fetchHttps` behind the SSRF guard in the product). */
  fetchPolicy: ScanFetchPolicy;
  /** GET of BIMI logos and evidence documents (the same guarded fetcher). */
  fetchResource: ScanFetchResource;
  /** DKIM selectors known for the domain. */
  dkimSelectors?: readonly string[];
  /**
   * Also try the common DKIM selectors. Default: only when no selector is given — a caller that
   * knows its selectors does not pay ~25 guesses per scan.
   */
  probeCommonDkimSelectors?: boolean;
  /**
   * Checks to run (default SCAN_CHECKS, plus `blocklist` when `blocklists` is given). Dependencies
   * run anyway but are only reported if asked for.
   */
  checks?: readonly ScanCheckName[];
  /** Enables the blocklist check; lists left out are the default sets (DEFAULT_*_BLOCKLISTS). */
  blocklists?: ScanBlocklistOptions;
  bimiSelector?: string;
  /** Default DEFAULT_SCAN_DEADLINE_MS. */
  deadlineMs?: number;
  /** The clock for `startedAt`; tests inject a fixed one. */
  now?: () => Date;
}

export type ScanCheckResult =
  | CheckResult<MxFacts>
  | CheckResult<SpfFacts>
  | CheckResult<DkimFacts>
  | CheckResult<DmarcFacts>
  | CheckResult<MtaStsFacts>
  | CheckResult<TlsRptFacts>
  | CheckResult<BimiFacts>
  | CheckResult<BlocklistFacts>
  | CheckResult<ScanFailureFacts>;

/** Facts of a check that did not finish: no verdict, and why. */
export interface ScanFailureFacts {
  domain: string;
  failure: 'deadline' | 'internal_error';
  detail: string;
}

export interface ScanReport {
  domain: string;
  startedAt: string;
  durationMs: number;
  checks: ScanCheckName[];
  /** One result per check asked for, in ALL_SCAN_CHECKS order. */
  results: ScanCheckResult[];
  posture: Posture;
  /** Distinct DNS questions this scan asked (answered from any cache or not). */
  dnsQueries: number;
  /** HTTPS fetches this scan made (policy, logo, evidence). */
  fetches: number;
}

/** The domain as a scan queries it, or null when it cannot be a domain name. */
export function normalizeScanDomain(input: string): string | null {
  const name = normalizeDnsName(input);
  // A single label is a TLD or a typo; nobody scans `com`. IP literals are not domains.
  if (name === null || !name.includes('.') || /^[\d.]+$/.test(name)) return null;
  return name;
}

function failed(check: ScanCheckName, domain: string, failure: ScanFailureFacts['failure'], detail: string) {
  return {
    check,
    status: 'unknown' as const,
    facts: { domain, failure, detail: clip(detail, 256) },
    findings: [],
  } satisfies CheckResult<ScanFailureFacts>;
}

/** Runs `work`, turning a throw into an `unknown` result; never rejects. */
function guarded(
  check: ScanCheckName,
  domain: string,
  work: () => Promise<ScanCheckResult>,
): Promise<ScanCheckResult> {
  return work().catch((err: unknown) =>
    failed(check, domain, 'internal_error', err instanceof Error ? err.message : String(err)),
  );
}

/**
 * The exchanges of a domain's MX answer (lower case, no root dot), or undefined when DNS could not
 * say: for MTA-STS coverage when the MX check is not reported, and for the DNSSEC, DANE and probe
 * families of monitoring.
 */
export async function mxHostsOnly(domain: string, resolver: Resolver): Promise<string[] | undefined> {
  const mx = await resolver.query(domain, 'MX');
  if (mx.status === 'unknown') return undefined;
  if (mx.status !== 'answer') return [];
  const hosts = mx.records.map((r) => r.exchange.toLowerCase().replace(/\.$/, '')).filter((h) => h !== '');
  return [...new Set(hosts)];
}

/**
 * Scans `domain`. Throws a RangeError only when `domain` is not a domain name (validate with
 * `normalizeScanDomain` first); everything the network does is part of the report.
 */
export async function scanDomain(domainInput: string, options: ScanOptions): Promise<ScanReport> {
  const domain = normalizeScanDomain(domainInput);
  if (domain === null) throw new RangeError(`scanDomain: not a domain name: ${clip(domainInput, 80)}`);
  const started = (options.now ?? (() => new Date()))();
  const startedMs = performance.now();
  const wanted = new Set<ScanCheckName>(
    options.checks && options.checks.length > 0
      ? options.checks
      : [...SCAN_CHECKS, ...(options.blocklists ? OPTIONAL_SCAN_CHECKS : [])],
  );
  const resolver = memoizeResolver(options.resolver);
  let fetches = 0;
  const context: ScanFetchContext = { resolver };
  const fetchPolicy = (url: string) => {
    fetches++;
    return options.fetchPolicy(url, context);
  };
  const fetchResource = (url: string, fetchOptions: FetchOptions) => {
    fetches++;
    return options.fetchResource(url, fetchOptions, context);
  };

  // First questions of the dependent checks, asked now so they overlap with MX and DMARC; the
  // memo hands the same answers to the checks when they ask. (A resolver that breaks its contract
  // and rejects fails the check that asks, not the process: hence the empty catch.)
  const ignore = () => {};
  if (wanted.has('mta_sts')) resolver.query(`_mta-sts.${domain}`, 'TXT').catch(ignore);
  if (wanted.has('bimi')) {
    const first = candidateNames(domain, options.bimiSelector ?? 'default')[0];
    if (first !== undefined) resolver.query(first, 'TXT').catch(ignore);
  }
  // DKIM asks given selectors whatever its `_domainkey` probe says (only guesses depend on it),
  // so they need not wait for the probe's round trip.
  if (wanted.has('dkim')) {
    for (const raw of (options.dkimSelectors ?? []).slice(0, MAX_SELECTORS_PER_DOMAIN)) {
      const selector = normalizeSelector(raw);
      const name = selector === null ? null : normalizeDnsName(`${selector}._domainkey.${domain}`);
      if (name !== null) resolver.query(name, 'TXT').catch(ignore);
    }
  }

  const mx = wanted.has('mx') ? guarded('mx', domain, () => analyseMx(domain, resolver)) : null;
  const dmarc =
    wanted.has('dmarc') || wanted.has('bimi')
      ? guarded('dmarc', domain, () => checkDmarc(domain, { resolver }))
      : null;
  const running = new Map<ScanCheckName, Promise<ScanCheckResult>>();
  if (mx) running.set('mx', mx);
  if (dmarc && wanted.has('dmarc')) running.set('dmarc', dmarc);
  if (wanted.has('spf'))
    running.set(
      'spf',
      guarded('spf', domain, () => analyseSpf(domain, resolver)),
    );
  if (wanted.has('dkim')) {
    const selectors = options.dkimSelectors ?? [];
    const probeCommonSelectors = options.probeCommonDkimSelectors ?? selectors.length === 0;
    running.set(
      'dkim',
      guarded('dkim', domain, () => checkDkim(domain, { resolver, selectors, probeCommonSelectors })),
    );
  }
  if (wanted.has('tls_rpt'))
    running.set(
      'tls_rpt',
      guarded('tls_rpt', domain, () => checkTlsRpt(domain, { resolver })),
    );
  if (wanted.has('mta_sts')) {
    running.set(
      'mta_sts',
      guarded('mta_sts', domain, async () => {
        const prefetched = prefetchPolicy(domain, resolver, fetchPolicy);
        const mxHosts = mx ? hostsFrom(await mx) : await mxHostsOnly(domain, resolver);
        const result = await analyseMtaSts({
          domain,
          resolver,
          fetchPolicy: (url) => prefetched.take(url),
          ...(mxHosts ? { mxHosts } : {}),
        });
        return transientFetchAsUnknown(result);
      }),
    );
  }
  if (wanted.has('bimi') && dmarc) {
    running.set(
      'bimi',
      guarded('bimi', domain, async () => {
        const dmarcResult = (await dmarc) as CheckResult<DmarcFacts>;
        // A DMARC check that failed outright has no facts to judge BIMI's requirement by.
        if (!('discovery' in dmarcResult.facts))
          return failed('bimi', domain, 'internal_error', 'DMARC check failed');
        return checkBimi(domain, {
          resolver,
          fetchResource,
          dmarc: dmarcResult,
          ...(options.bimiSelector ? { selector: options.bimiSelector } : {}),
        });
      }),
    );
  }

  if (wanted.has('blocklist')) {
    const lists = options.blocklists ?? {};
    running.set(
      'blocklist',
      guarded('blocklist', domain, () =>
        checkDomainBlocklists(domain, {
          resolver,
          ipLists: lists.ipLists ?? DEFAULT_IP_BLOCKLISTS,
          domainLists: lists.domainLists ?? DEFAULT_DOMAIN_BLOCKLISTS,
          ...(lists.sendingIps ? { sendingIps: lists.sendingIps } : {}),
        }),
      ),
    );
  }

  const deadlineMs = options.deadlineMs ?? DEFAULT_SCAN_DEADLINE_MS;
  const checks = ALL_SCAN_CHECKS.filter((c) => wanted.has(c));
  const results = await withDeadline(checks, running, domain, deadlineMs);
  return {
    domain,
    startedAt: started.toISOString(),
    durationMs: Math.round(performance.now() - startedMs),
    checks,
    results,
    posture: computePosture(results),
    dnsQueries: resolver.queryCount,
    fetches,
  };
}

/**
 * The MTA-STS analysis reports a policy fetch that failed for a passing reason (timeout, reset,
 * refused) as `policy_fetch_failed` with `transient: true`, yet as a finished verdict. A scan makes
 * it what DESIGN.md §3 says it is, not knowing: the finding stays listed, the result is `unknown`,
 * so neither the score nor `--fail-on` treat a network hiccup as a broken policy.
 */
function transientFetchAsUnknown(result: CheckResult<MtaStsFacts>): CheckResult<MtaStsFacts> {
  const transient = result.findings.some(
    (f) => f.code === 'mta_sts.policy_fetch_failed' && f.evidence.transient === true,
  );
  return transient ? { ...result, status: 'unknown' } : result;
}

function hostsFrom(result: ScanCheckResult): string[] | undefined {
  if (result.check !== 'mx' || result.status === 'unknown') return undefined;
  return (result as CheckResult<MxFacts>).facts.hosts.map((h) => h.host);
}

/**
 * Starts the policy fetch as soon as the `_mta-sts` record is known to exist, while the MX check
 * is still running; `take` hands the analysis that very fetch. The condition is the analysis's
 * own (a TXT answer with records), so no fetch happens that the analysis would not make.
 */
function prefetchPolicy(
  domain: string,
  resolver: Resolver,
  fetchPolicy: (url: string) => Promise<PolicyFetchResult>,
) {
  const url = policyUrl(domain);
  const early = resolver
    .query(`_mta-sts.${domain}`, 'TXT')
    .then((txt) => (txt.status === 'answer' && txt.records.length > 0 ? fetchPolicy(url) : null))
    // Nothing may reject unobserved; the analysis then asks again itself and meets the error.
    .catch(() => null);
  return {
    async take(asked: string): Promise<PolicyFetchResult> {
      const fetched = asked === url ? await early : null;
      return fetched ?? fetchPolicy(asked);
    },
  };
}

async function withDeadline(
  checks: ScanCheckName[],
  running: Map<ScanCheckName, Promise<ScanCheckResult>>,
  domain: string,
  deadlineMs: number,
): Promise<ScanCheckResult[]> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => {
    timer = setTimeout(() => resolve('deadline'), deadlineMs);
  });
  const settled = new Map<ScanCheckName, ScanCheckResult>();
  const all = Promise.all(
    checks.map(async (check) => {
      const result = await (running.get(check) as Promise<ScanCheckResult>);
      settled.set(check, result);
    }),
  );
  try {
    await Promise.race([all, deadline]);
  } finally {
    clearTimeout(timer);
  }
  return checks.map(
    (check) =>
      settled.get(check) ??
      failed(check, domain, 'deadline', `the scan deadline of ${deadlineMs} ms passed first`),
  );
}

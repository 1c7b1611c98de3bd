/**
 * Family runners: given a domain name and the options its owners declared, run the checks of one
 * family through libs/net and return the results. The worker builds them once per process, so the
 * DNS cache and in-flight coalescing are shared by every tenant and every domain (DESIGN.md §2.4).
 * The DNSSEC, TLS and blocklist families plug in here as their checks land.
 */
import {
  type BlocklistZone,
  type CheckResult,
  checkDane,
  checkDnssec,
  checkDomainBlocklists,
  createDnssecValidator,
  MTA_STS_MAX_POLICY_BYTES,
  type Posture,
  type ScanFetchPolicy,
  type ScanFetchResource,
  scanDomain,
  type TrustAnchor,
} from '@mailwarden/checks';
import type { Resolver } from '@mailwarden/core';
import type { CheckFamily, DomainProbeOptions } from '@mailwarden/db';
import { type AllowList, fetchHttps } from '@mailwarden/net';

export interface DomainCheckOptions {
  dkimSelectors: readonly string[];
  sendingIps: readonly string[];
  probeOptions: DomainProbeOptions;
}

export interface FamilyRun {
  results: CheckResult<unknown>[];
  posture?: Posture | null;
  verificationTxt?: readonly string[] | 'unknown';
}

export interface FamilyRunner {
  run(name: string, options: DomainCheckOptions): Promise<FamilyRun>;
  /**
   * Targets whose options give the same key share one run. A runner that ignores options returns
   * a constant; the DNS family keys on the selectors, so no tenant sees another's selectors.
   */
  optionsKey(options: DomainCheckOptions): string;
}

export type FamilyRunners = Partial<Record<CheckFamily, FamilyRunner>>;

export interface CheckRuntimeSettings {
  resolver: Resolver;
  allow: AllowList;
  /** Extra trusted CA certificates (TLS_EXTRA_CA_FILE), PEM. */
  ca?: string[];
  fetchTimeoutMs?: number;
  scanDeadlineMs?: number;
}

/** Reads the `_mailwarden.<name>` TXT strings, or `unknown` when DNS could not say. */
export async function readVerificationTxt(
  resolver: Resolver,
  name: string,
): Promise<readonly string[] | 'unknown'> {
  const answer = await resolver.query(`_mailwarden.${name}`, 'TXT');
  if (answer.status === 'unknown') return 'unknown';
  if (answer.status !== 'answer') return [];
  return answer.records.map((strings) => strings.join(''));
}

export function createDnsFamilyRunner(settings: CheckRuntimeSettings): FamilyRunner {
  const base = {
    allow: settings.allow,
    ...(settings.ca && settings.ca.length > 0 ? { ca: settings.ca } : {}),
  };
  const timeoutMs = settings.fetchTimeoutMs ?? 10_000;
  const fetchPolicy: ScanFetchPolicy = (url, { resolver }) =>
    fetchHttps(url, {
      ...base,
      resolver,
      timeoutMs,
      maxBytes: MTA_STS_MAX_POLICY_BYTES,
      accept: 'text/plain',
    });
  const fetchResource: ScanFetchResource = (url, { maxBytes }, { resolver }) =>
    fetchHttps(url, { ...base, resolver, timeoutMs, maxBytes });
  return {
    optionsKey: (options) => [...options.dkimSelectors].sort().join(','),
    async run(name, options) {
      const [report, verificationTxt] = await Promise.all([
        scanDomain(name, {
          resolver: settings.resolver,
          fetchPolicy,
          fetchResource,
          dkimSelectors: options.dkimSelectors,
          ...(settings.scanDeadlineMs !== undefined ? { deadlineMs: settings.scanDeadlineMs } : {}),
        }),
        readVerificationTxt(settings.resolver, name),
      ]);
      return { results: report.results as CheckResult<unknown>[], posture: report.posture, verificationTxt };
    },
  };
}

/** The exchanges of a domain's MX RRset (lower case, no root dot), or undefined when DNS failed. */
async function mxHostsOf(resolver: Resolver, name: string): Promise<string[] | undefined> {
  const mx = await resolver.query(name, 'MX');
  if (mx.status === 'unknown') return undefined;
  if (mx.status !== 'answer') return [];
  return [
    ...new Set(mx.records.map((r) => r.exchange.toLowerCase().replace(/\.$/, '')).filter((h) => h !== '')),
  ];
}

export interface DnssecRunnerSettings {
  resolver: Resolver;
  /** DNSSEC_TRUST_ANCHORS; default the IANA root anchors. */
  trustAnchors?: readonly TrustAnchor[];
  expiringDays?: number;
}

/**
 * DNSSEC of the domain and of each MX host's zone, and DANE of each MX. One validator per process:
 * its key, zone-cut and signature caches serve every domain (issue 7 §1).
 */
export function createDnssecFamilyRunner(settings: DnssecRunnerSettings): FamilyRunner {
  const validator = createDnssecValidator(settings.resolver, {
    ...(settings.trustAnchors ? { trustAnchors: settings.trustAnchors } : {}),
  });
  return {
    optionsKey: () => '',
    async run(name) {
      const mxHosts = (await mxHostsOf(settings.resolver, name)) ?? [];
      const [dnssec, dane] = await Promise.all([
        checkDnssec(settings.resolver, name, {
          mxHosts,
          validator,
          ...(settings.expiringDays !== undefined ? { expiringDays: settings.expiringDays } : {}),
        }),
        checkDane(settings.resolver, name, { mxHosts, validator }),
      ]);
      return { results: [dnssec, dane] as CheckResult<unknown>[] };
    },
  };
}

export interface BlocklistRunnerSettings {
  resolver: Resolver;
  ipLists: readonly BlocklistZone[];
  domainLists: readonly BlocklistZone[];
}

/** Each MX address and declared sending IP on the IP lists; domain, MX and NS names on the domain lists. */
export function createBlocklistFamilyRunner(settings: BlocklistRunnerSettings): FamilyRunner {
  return {
    optionsKey: (options) => [...options.sendingIps].sort().join(','),
    async run(name, options) {
      const result = await checkDomainBlocklists(name, {
        resolver: settings.resolver,
        ipLists: settings.ipLists,
        domainLists: settings.domainLists,
        sendingIps: options.sendingIps,
      });
      return { results: [result as CheckResult<unknown>] };
    },
  };
}

/**
 * Family runners: given a domain name and the options its owners declared, run the checks of one
 * family through libs/net and return the results. The worker builds them once per process, so the
 * DNS cache and in-flight coalescing are shared by every tenant and every domain (DESIGN.md §2.4).
 * The DNSSEC, TLS and blocklist families plug in here as their checks land.
 */
import {
  type CheckResult,
  MTA_STS_MAX_POLICY_BYTES,
  type Posture,
  type ScanFetchPolicy,
  type ScanFetchResource,
  scanDomain,
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

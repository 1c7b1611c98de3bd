/**
 * Family runners: given a domain name and the options its owners declared, run the checks of one
 * family through libs/net and return the results. The worker builds them once per process, so the
 * DNS cache and in-flight coalescing are shared by every tenant and every domain (DESIGN.md §2.4).
 * The DNSSEC, TLS and blocklist families plug in here as their checks land.
 */
import {
  analyseMxProbe,
  type BlocklistZone,
  type CheckResult,
  checkDane,
  checkDnssec,
  checkDomainBlocklists,
  createDnssecValidator,
  type DaneInput,
  type DnssecValidator,
  MTA_STS_MAX_POLICY_BYTES,
  matchTlsa,
  mxHostsOnly,
  type Posture,
  type ScanFetchPolicy,
  type ScanFetchResource,
  scanDomain,
  type TrustAnchor,
} from '@mailwarden/checks';
import type { Resolver } from '@mailwarden/core';
import type { CheckFamily, DomainProbeOptions } from '@mailwarden/db';
import { type AllowList, DEFAULT_MAIL_SERVICES, fetchHttps, probeMx } from '@mailwarden/net';

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

export interface DnssecRunnerSettings {
  resolver: Resolver;
  /** DNSSEC_TRUST_ANCHORS; default the IANA root anchors. */
  trustAnchors?: readonly TrustAnchor[];
  expiringDays?: number;
  /** Shared with the TLS family (DANE) so both use one set of caches. */
  validator?: DnssecValidator;
}

/**
 * DNSSEC of the domain and of each MX host's zone, and DANE of each MX. One validator per process:
 * its key, zone-cut and signature caches serve every domain (issue 7 §1).
 */
export function createDnssecFamilyRunner(settings: DnssecRunnerSettings): FamilyRunner {
  const validator =
    settings.validator ??
    createDnssecValidator(
      settings.resolver,
      settings.trustAnchors ? { trustAnchors: settings.trustAnchors } : {},
    );
  return {
    optionsKey: () => '',
    async run(name) {
      const mxHosts = (await mxHostsOnly(name, settings.resolver)) ?? [];
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

export interface TlsRunnerSettings {
  resolver: Resolver;
  allow: AllowList;
  /** SMTP_PROBE_PORT. */
  port?: number;
  /** TLS_EXTRA_CA_FILE contents. */
  ca?: readonly string[];
  /** Shared with the DNSSEC family when the worker builds both: DANE needs a secure TLSA RRset. */
  validator?: DnssecValidator;
  trustAnchors?: readonly TrustAnchor[];
  expiryWarningDays?: readonly [number, number, number];
  now?: () => Date;
}

/**
 * The MX probes of one domain (issue 8): for each MX host, every address probed (STARTTLS, versions,
 * chain, hygiene, opt-in ports and relay test), the TLSA RRset validated for DANE, and the result
 * analysed. One result per MX host; an unreachable host is `untestable`, which monitoring treats as
 * no verdict until a second run confirms it.
 */
export function createTlsFamilyRunner(settings: TlsRunnerSettings): FamilyRunner {
  const validator =
    settings.validator ??
    createDnssecValidator(
      settings.resolver,
      settings.trustAnchors ? { trustAnchors: settings.trustAnchors } : {},
    );
  const now = settings.now ?? (() => new Date());
  const port = settings.port ?? 25;

  async function addressesOf(host: string): Promise<string[]> {
    const [a, aaaa] = await Promise.all([
      settings.resolver.query(host, 'A'),
      settings.resolver.query(host, 'AAAA'),
    ]);
    return [...(a.status === 'answer' ? a.records : []), ...(aaaa.status === 'answer' ? aaaa.records : [])];
  }

  async function daneFor(host: string): Promise<DaneInput | undefined> {
    const { result, verdict } = await validator.query(`_${port}._tcp.${host}`, 'TLSA');
    if (result.status !== 'answer') return undefined;
    return {
      tlsa: result.records,
      secure: verdict.verdict === 'secure',
      match: (records, chain) => matchTlsa(records, chain, { referenceNames: [host] }),
    };
  }

  return {
    optionsKey: (options) =>
      JSON.stringify({
        p: options.probeOptions.otherPorts === true,
        r: options.probeOptions.relayTest === true,
      }),
    async run(name, options) {
      const hosts = await mxHostsOnly(name, settings.resolver);
      if (hosts === undefined) {
        return {
          results: [
            {
              check: 'smtp',
              status: 'unknown',
              facts: { domain: name, reason: 'mx_lookup_unknown' },
              findings: [],
            } as CheckResult<unknown>,
          ],
        };
      }
      const results = await Promise.all(
        hosts.slice(0, 10).map(async (host) => {
          const [addresses, dane] = await Promise.all([addressesOf(host), daneFor(host)]);
          const probe = await probeMx(host, addresses, {
            allow: settings.allow,
            port,
            ...(settings.ca && settings.ca.length > 0 ? { extraCa: settings.ca } : {}),
            ...(options.probeOptions.relayTest ? { relayTest: true } : {}),
            ...(options.probeOptions.otherPorts ? { services: DEFAULT_MAIL_SERVICES } : {}),
          });
          const analysis = await analyseMxProbe(probe, {
            now: now(),
            resolver: settings.resolver,
            ...(settings.expiryWarningDays ? { expiryWarningDays: settings.expiryWarningDays } : {}),
            ...(dane ? { dane } : {}),
          });
          return analysis;
        }),
      );
      // One `smtp` result for the domain: findings of every host; no verdict (untestable) when any
      // host gave none, so a host that did not answer resolves nothing (record-run).
      const statuses = results.map((r) => r.status as string);
      const status = statuses.some((s) => s === 'untestable' || s === 'unknown')
        ? 'untestable'
        : results.some((r) => r.findings.length > 0)
          ? 'findings'
          : 'ok';
      const merged = {
        check: 'smtp',
        status,
        facts: { domain: name, hosts: results.map((r) => r.facts) },
        findings: results.flatMap((r) => r.findings),
      };
      return { results: [merged as unknown as CheckResult<unknown>] };
    },
  };
}

/**
 * The I/O a scan is given in the CLI: the DNS client of libs/net (shared by every scan of the run,
 * so its TTL cache serves names common to many domains) and the two HTTPS fetchers, both through
 * libs/net's SSRF-guarded `fetchHttps`.
 */
import {
  MTA_STS_MAX_POLICY_BYTES,
  type ScanFetchPolicy,
  type ScanFetchResource,
  type ScanOptions,
} from '@mailwarden/checks';
import {
  type AllowList,
  createDnsClient,
  type DnsClient,
  type DnsServerAddress,
  fetchHttps,
} from '@mailwarden/net';

/** Distinct BIMI asset URLs remembered per run; each holds at most one capped body. */
const MAX_CACHED_ASSETS = 256;

export interface ScanRuntimeSettings {
  dnsServers: DnsServerAddress[];
  dnsTransport: 'udp' | 'tcp';
  dnsTimeoutMs: number;
  fetchTimeoutMs: number;
  allow: AllowList;
  /** Extra trusted CA certificates, PEM. */
  ca: string[];
}

export interface ScanRuntime {
  dns: DnsClient;
  fetchPolicy: ScanFetchPolicy;
  fetchResource: ScanFetchResource;
  /** What every scan of the run passes to `scanDomain` besides its own settings. */
  scanOptions: Pick<ScanOptions, 'resolver' | 'fetchPolicy' | 'fetchResource'>;
  close(): void;
}

export function createScanRuntime(settings: ScanRuntimeSettings): ScanRuntime {
  const dns = createDnsClient({
    servers: settings.dnsServers,
    timeoutMs: settings.dnsTimeoutMs,
    transport: settings.dnsTransport,
  });
  const base = { allow: settings.allow, ...(settings.ca.length > 0 ? { ca: settings.ca } : {}) };

  // RFC 8461 §3.3: the policy is fetched fresh for its domain (a policy cache keyed by the TXT id
  // belongs to a monitor that scans the same domain again, not to one run).
  const fetchPolicy: ScanFetchPolicy = (url, { resolver }) =>
    fetchHttps(url, {
      ...base,
      resolver,
      timeoutMs: settings.fetchTimeoutMs,
      maxBytes: MTA_STS_MAX_POLICY_BYTES,
      accept: 'text/plain',
    });

  // A brand's domains point their BIMI records at one logo (and one VMC): within a run each URL is
  // fetched once and its outcome shared, instead of once per domain.
  const assets = new Map<string, ReturnType<ScanFetchResource>>();
  const fetchResource: ScanFetchResource = (url, { maxBytes }, { resolver }) => {
    const key = `${maxBytes} ${url}`;
    let pending = assets.get(key);
    if (!pending) {
      pending = fetchHttps(url, { ...base, resolver, timeoutMs: settings.fetchTimeoutMs, maxBytes });
      if (assets.size >= MAX_CACHED_ASSETS) {
        const oldest = assets.keys().next().value;
        if (oldest !== undefined) assets.delete(oldest);
      }
      assets.set(key, pending);
    }
    return pending;
  };

  return {
    dns,
    fetchPolicy,
    fetchResource,
    scanOptions: { resolver: dns, fetchPolicy, fetchResource },
    close: () => dns.close(),
  };
}

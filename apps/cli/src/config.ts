/**
 * The environment the CLI reads (DESIGN.md §4), in one place: only this file looks at
 * `process.env`. Flags given on the command line win over these; values are validated where they
 * are used (scan/args.ts), so a bad variable is reported like a bad flag.
 */
export interface CliEnvironment {
  /** Upstream resolvers, `ip[:port]` comma list; unset means /etc/resolv.conf. */
  dnsServers: string | undefined;
  /** Non-public ranges fetches may reach (tests, labs). */
  probeAllowCidrs: string | undefined;
  /** Extra CA certificates (PEM file) for MTA-STS and BIMI fetches. */
  tlsExtraCaFile: string | undefined;
  /** BLOCKLISTS_IP / BLOCKLISTS_DOMAIN: the lists a blocklist check asks (docs/blocklists.md). */
  blocklistsIp?: string | undefined;
  blocklistsDomain?: string | undefined;
  /** https://no-color.org: present and not empty turns colour off. */
  noColor: boolean;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

export function readCliEnvironment(
  env: Readonly<Record<string, string | undefined>> = process.env,
): CliEnvironment {
  return {
    dnsServers: nonEmpty(env.DNS_SERVERS),
    probeAllowCidrs: nonEmpty(env.PROBE_ALLOW_CIDRS),
    tlsExtraCaFile: nonEmpty(env.TLS_EXTRA_CA_FILE),
    blocklistsIp: nonEmpty(env.BLOCKLISTS_IP),
    blocklistsDomain: nonEmpty(env.BLOCKLISTS_DOMAIN),
    noColor: nonEmpty(env.NO_COLOR) !== undefined,
  };
}

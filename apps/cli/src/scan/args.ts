/**
 * `mailwarden scan` arguments: parsed and validated in full before any network I/O, every problem
 * reported at once (exit code 2). Pure: files named by flags are read later (scan/setup.ts), so
 * this is unit-tested without a filesystem or a network.
 */
import { parseArgs } from 'node:util';
import {
  ALL_SCAN_CHECKS,
  type BlocklistZone,
  normalizeScanDomain,
  normalizeSelector,
  type ParsedBlocklists,
  parseDomainBlocklists,
  parseIpBlocklists,
  SCAN_CHECKS,
  type ScanCheckName,
  type Severity,
  severities,
} from '@mailwarden/checks';
import { parseIp } from '@mailwarden/core';
import { type AllowList, type DnsServerAddress, parseAllowList, parseDnsServers } from '@mailwarden/net';
import type { CliEnvironment } from '../config.ts';

/** DNS attempts and HTTPS fetches when --timeout-ms is not given. */
export const DEFAULT_DNS_TIMEOUT_MS = 1_500;
export const DEFAULT_FETCH_TIMEOUT_MS = 10_000;
export const MAX_TIMEOUT_MS = 120_000;
export const DEFAULT_CONCURRENCY = 64;
export const MAX_CONCURRENCY = 4_096;
/** Scan threads of a bulk run at most (`--threads`; bulk-run.ts caps its default by it too). */
export const MAX_SCAN_THREADS = 64;

export type OutputFormat = 'jsonl' | 'csv';

export interface ScanSettings {
  /** Single mode: the domain, normalised. */
  domain: string | null;
  /** Bulk mode: the file of domains (`-` for stdin). */
  file: string | null;
  json: boolean;
  format: OutputFormat;
  checks: ScanCheckName[];
  dkimSelectors: string[];
  probeCommonSelectors: boolean | undefined;
  failOn: Severity | null;
  /** null: read /etc/resolv.conf when the scan starts. */
  dnsServers: DnsServerAddress[] | null;
  dnsTransport: 'udp' | 'tcp';
  allow: AllowList;
  caFiles: string[];
  dnsTimeoutMs: number;
  fetchTimeoutMs: number;
  concurrency: number;
  /** Bulk: scan threads; null means one per core for a long list (bulk-run.ts defaultThreads). */
  threads: number | null;
  /** The blocklist check's lists and declared sending IPs; null when the check is not run. */
  blocklists: { ipLists: BlocklistZone[]; domainLists: BlocklistZone[]; sendingIps: string[] } | null;
}

export type ParsedScanArgs =
  | { kind: 'help' }
  | { kind: 'scan'; settings: ScanSettings }
  | { kind: 'error'; errors: string[] };

const options = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  file: { type: 'string', short: 'f' },
  format: { type: 'string' },
  checks: { type: 'string', multiple: true },
  'dkim-selector': { type: 'string', multiple: true },
  'probe-common-selectors': { type: 'boolean' },
  'fail-on': { type: 'string' },
  'dns-server': { type: 'string', multiple: true },
  'dns-transport': { type: 'string' },
  'ca-file': { type: 'string', multiple: true },
  'allow-cidr': { type: 'string', multiple: true },
  'timeout-ms': { type: 'string' },
  concurrency: { type: 'string' },
  threads: { type: 'string' },
  'blocklist-ip': { type: 'string', multiple: true },
  'blocklist-domain': { type: 'string', multiple: true },
  'sending-ip': { type: 'string', multiple: true },
} as const;

/** Repeatable flags also take comma lists: `--checks spf,dmarc --checks mx`. */
function listOf(values: readonly string[] | undefined): string[] {
  return (values ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** Accepts the check names as the report spells them and as people type them (`mta-sts`). */
function parseChecks(raw: string[], errors: string[]): ScanCheckName[] {
  const wanted = new Set<ScanCheckName>();
  for (const item of raw) {
    const name = item.toLowerCase().replace(/-/g, '_');
    if ((ALL_SCAN_CHECKS as readonly string[]).includes(name)) wanted.add(name as ScanCheckName);
    else
      errors.push(`--checks: unknown check ${JSON.stringify(item)} (known: ${ALL_SCAN_CHECKS.join(', ')})`);
  }
  return ALL_SCAN_CHECKS.filter((c) => wanted.has(c));
}

/**
 * The lists of one kind: the flag (its values joined, as the format is a comma list), else the
 * environment variable, else the default set (docs/blocklists.md).
 */
function blocklistsFrom(
  flag: string,
  values: readonly string[] | undefined,
  envName: string,
  envValue: string | undefined,
  parse: (text: string) => ParsedBlocklists,
  errors: string[],
): BlocklistZone[] {
  const given = values && values.length > 0;
  const parsed = parse(given ? values.join(',') : (envValue ?? 'default'));
  if (parsed.ok) return parsed.lists;
  errors.push(...parsed.errors.map((e) => `${given ? flag : envName}: ${e}`));
  return [];
}

/** A whole-number flag within bounds; a bad value is added to `errors` (shared by every command). */
export function parseInteger(
  flag: string,
  raw: string | undefined,
  min: number,
  max: number,
  errors: string[],
) {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    errors.push(`${flag}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    return undefined;
  }
  return Number(raw);
}

export function parseScanArgs(args: readonly string[], env: CliEnvironment): ParsedScanArgs {
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; options: typeof options; allowPositionals: true; strict: true }>
  >;
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (err) {
    return { kind: 'error', errors: [(err as Error).message] };
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  const errors: string[] = [];

  const file = values.file ?? null;
  let domain: string | null = null;
  if (file !== null && positionals.length > 0) errors.push('give either a domain or --file, not both');
  else if (file === null && positionals.length === 0) errors.push('missing domain (or --file <domains.txt>)');
  else if (positionals.length > 1)
    errors.push(`one domain per scan; for several use --file (got ${positionals.length})`);
  else if (positionals[0] !== undefined) {
    domain = normalizeScanDomain(positionals[0]);
    if (domain === null) errors.push(`not a domain name: ${JSON.stringify(positionals[0])}`);
  }

  let format: OutputFormat = 'jsonl';
  if (values.format !== undefined) {
    if (values.format === 'jsonl' || values.format === 'csv') format = values.format;
    else errors.push(`--format: expected jsonl or csv, got ${JSON.stringify(values.format)}`);
    if (file === null) errors.push('--format applies to --file bulk scans; use --json for one domain');
  }

  const checks = parseChecks(listOf(values.checks), errors);
  const dkimSelectors: string[] = [];
  for (const raw of listOf(values['dkim-selector'])) {
    const selector = normalizeSelector(raw);
    if (selector === null) errors.push(`--dkim-selector: not a valid selector: ${JSON.stringify(raw)}`);
    else if (!dkimSelectors.includes(selector)) dkimSelectors.push(selector);
  }

  let failOn: Severity | null = null;
  if (values['fail-on'] !== undefined) {
    const s = values['fail-on'].toLowerCase();
    if ((severities as readonly string[]).includes(s)) failOn = s as Severity;
    else
      errors.push(
        `--fail-on: expected one of ${severities.join(', ')}, got ${JSON.stringify(values['fail-on'])}`,
      );
  }

  let dnsServers: DnsServerAddress[] | null = null;
  const serverList = listOf(values['dns-server']);
  const serverSource = serverList.length > 0 ? '--dns-server' : 'DNS_SERVERS';
  const serverText = serverList.length > 0 ? serverList.join(',') : env.dnsServers;
  if (serverText !== undefined) {
    try {
      dnsServers = parseDnsServers(serverText);
      if (dnsServers.length === 0) errors.push(`${serverSource}: no server given`);
    } catch (err) {
      errors.push(`${serverSource}: ${(err as Error).message}`);
    }
  }

  let dnsTransport: 'udp' | 'tcp' = 'udp';
  if (values['dns-transport'] !== undefined) {
    if (values['dns-transport'] === 'udp' || values['dns-transport'] === 'tcp')
      dnsTransport = values['dns-transport'];
    else errors.push(`--dns-transport: expected udp or tcp, got ${JSON.stringify(values['dns-transport'])}`);
  }

  const cidrs = listOf(values['allow-cidr']);
  const allowSource = cidrs.length > 0 ? '--allow-cidr' : 'PROBE_ALLOW_CIDRS';
  const allowParsed = parseAllowList(cidrs.length > 0 ? cidrs.join(',') : env.probeAllowCidrs);
  if (!allowParsed.ok) errors.push(...allowParsed.errors.map((e) => `${allowSource}: ${e}`));

  const caFiles =
    values['ca-file'] && values['ca-file'].length > 0
      ? [...values['ca-file']]
      : env.tlsExtraCaFile
        ? [env.tlsExtraCaFile]
        : [];
  const timeoutMs = parseInteger('--timeout-ms', values['timeout-ms'], 1, MAX_TIMEOUT_MS, errors);
  const concurrency = parseInteger('--concurrency', values.concurrency, 1, MAX_CONCURRENCY, errors);
  if (values.concurrency !== undefined && file === null)
    errors.push('--concurrency applies to --file bulk scans');
  const threads = parseInteger('--threads', values.threads, 1, MAX_SCAN_THREADS, errors);
  if (values.threads !== undefined && file === null) errors.push('--threads applies to --file bulk scans');

  // The blocklist check asks third parties, so it runs only when asked for: by a list flag, a
  // declared sending IP, or --checks blocklist. BLOCKLISTS_* alone only says which lists.
  const blocklistFlags =
    (values['blocklist-ip']?.length ?? 0) +
      (values['blocklist-domain']?.length ?? 0) +
      (values['sending-ip']?.length ?? 0) >
    0;
  let blocklists: ScanSettings['blocklists'] = null;
  if (blocklistFlags || checks.includes('blocklist')) {
    const sendingIps: string[] = [];
    for (const raw of listOf(values['sending-ip'])) {
      if (parseIp(raw) === undefined) errors.push(`--sending-ip: not an IP address: ${JSON.stringify(raw)}`);
      else if (!sendingIps.includes(raw)) sendingIps.push(raw);
    }
    blocklists = {
      ipLists: blocklistsFrom(
        '--blocklist-ip',
        values['blocklist-ip'],
        'BLOCKLISTS_IP',
        env.blocklistsIp,
        parseIpBlocklists,
        errors,
      ),
      domainLists: blocklistsFrom(
        '--blocklist-domain',
        values['blocklist-domain'],
        'BLOCKLISTS_DOMAIN',
        env.blocklistsDomain,
        parseDomainBlocklists,
        errors,
      ),
      sendingIps,
    };
  }
  const chosen: ScanCheckName[] = checks.length > 0 ? checks : [...SCAN_CHECKS];
  if (blocklists && !chosen.includes('blocklist')) chosen.push('blocklist');

  if (errors.length > 0) return { kind: 'error', errors };
  return {
    kind: 'scan',
    settings: {
      domain,
      file,
      json: values.json === true,
      format,
      checks: chosen,
      dkimSelectors,
      probeCommonSelectors: values['probe-common-selectors'],
      failOn,
      dnsServers,
      dnsTransport,
      allow: allowParsed.ok ? allowParsed.allow : [],
      caFiles,
      dnsTimeoutMs: timeoutMs ?? DEFAULT_DNS_TIMEOUT_MS,
      fetchTimeoutMs: timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS,
      concurrency: concurrency ?? DEFAULT_CONCURRENCY,
      threads: threads ?? null,
      blocklists,
    },
  };
}

export const scanUsage = `Usage: mailwarden scan <domain> [options]
       mailwarden scan --file <domains.txt> [--format jsonl|csv] [options]

Checks the mail security of a domain: MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT and BIMI, with a
posture score (docs/posture-score.md), and on request IP and domain blocklists (not scored).
Findings an admin can act on, grouped by check.

Output:
      --json                   One JSON document (the whole report) instead of text
  -f, --file <path>            Bulk: one domain per line (# comments, blank lines ignored; - is stdin)
      --format <jsonl|csv>     Bulk output on stdout (default jsonl: one report per line)
      --concurrency <n>        Bulk: domains scanned at once (default ${DEFAULT_CONCURRENCY})
      --threads <n>            Bulk: scan threads (default one per core, at most one per 250 domains)
      --fail-on <severity>     Exit 1 when a finding is at or above info|low|medium|high|critical
                               (results that are unknown never trigger it)

What to check:
      --checks <list>          Only these: ${ALL_SCAN_CHECKS.join(',')} (repeatable, comma list)
      --dkim-selector <s>      A DKIM selector of the domain (repeatable, comma list)
      --probe-common-selectors Also try common DKIM selectors (default: only when none is given)

Blocklists (not run unless one of these, or --checks blocklist, is given; docs/blocklists.md):
      --blocklist-ip <lists>   DNSBL zones with optional code maps (else BLOCKLISTS_IP, else the default set);
                               e.g. zen.spamhaus.org=127.0.0.2:SBL|127.0.0.4-127.0.0.7:XBL, or none
      --blocklist-domain <l>   Domain blocklist zones, same format (else BLOCKLISTS_DOMAIN, else the default set)
      --sending-ip <ip>        An address the domain sends from, checked besides the MX addresses (repeatable)

Network:
      --dns-server <ip[:port]> Resolver to ask (repeatable, comma list; else DNS_SERVERS, else /etc/resolv.conf)
      --dns-transport <udp|tcp> udp (default; TCP after truncation) or pipelined TCP
      --timeout-ms <n>         Per DNS attempt and per HTTPS fetch (default ${DEFAULT_DNS_TIMEOUT_MS} / ${DEFAULT_FETCH_TIMEOUT_MS})
      --ca-file <path>         Extra CA certificates (PEM) for MTA-STS and BIMI fetches (else TLS_EXTRA_CA_FILE)
      --allow-cidr <cidr>      Non-public range fetches may reach (repeatable; else PROBE_ALLOW_CIDRS)

Exit codes: 0 done, 1 --fail-on triggered (or the scan failed), 2 bad command line or input.
Colour only on a terminal, and never with NO_COLOR set.
`;

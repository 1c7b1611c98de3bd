/**
 * `mailwarden check-message` arguments, validated in full before anything is read or asked; every
 * problem reported at once (exit code 2). Pure, like scan/args.ts.
 */

import { parseArgs } from 'node:util';
import {
  type BlocklistZone,
  DEFAULT_MESSAGE_MAX_BYTES,
  type ParsedBlocklists,
  parseDomainBlocklists,
  parseIpBlocklists,
} from '@mailwarden/checks';
import { parseIp } from '@mailwarden/core';
import { type DnsServerAddress, parseDnsServers } from '@mailwarden/net';
import type { CliEnvironment } from '../config.ts';
import { parseInteger } from '../scan/args.ts';

export const DEFAULT_DNS_TIMEOUT_MS = 1_500;
export const MAX_TIMEOUT_MS = 120_000;
export const MAX_MESSAGE_BYTES = 50 * 1024 * 1024;

export interface CheckMessageSettings {
  /** The .eml file, or `-` for standard input. */
  file: string;
  json: boolean;
  clientIp: string | undefined;
  helo: string | undefined;
  mailFrom: string | undefined;
  domainLists: BlocklistZone[];
  ipLists: BlocklistZone[];
  /** null: /etc/resolv.conf when the check starts. */
  dnsServers: DnsServerAddress[] | null;
  dnsTransport: 'udp' | 'tcp';
  dnsTimeoutMs: number;
  maxBytes: number;
}

export type ParsedCheckMessageArgs =
  | { kind: 'help' }
  | { kind: 'check'; settings: CheckMessageSettings }
  | { kind: 'error'; errors: string[] };

const options = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  'client-ip': { type: 'string' },
  helo: { type: 'string' },
  'mail-from': { type: 'string' },
  'blocklist-domain': { type: 'string', multiple: true },
  'blocklist-ip': { type: 'string', multiple: true },
  'dns-server': { type: 'string', multiple: true },
  'dns-transport': { type: 'string' },
  'timeout-ms': { type: 'string' },
  'max-bytes': { type: 'string' },
} as const;

function lists(
  flag: string,
  values: readonly string[] | undefined,
  envName: string,
  envValue: string | undefined,
  parse: (text: string) => ParsedBlocklists,
  errors: string[],
): BlocklistZone[] {
  const given = values !== undefined && values.length > 0;
  const parsed = parse(given ? values.join(',') : (envValue ?? 'default'));
  if (parsed.ok) return parsed.lists;
  errors.push(...parsed.errors.map((e) => `${given ? flag : envName}: ${e}`));
  return [];
}

export function parseCheckMessageArgs(args: readonly string[], env: CliEnvironment): ParsedCheckMessageArgs {
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
  if (positionals.length !== 1) errors.push('give one message file (.eml), or - for standard input');
  const clientIp = values['client-ip'];
  if (clientIp !== undefined && parseIp(clientIp) === undefined)
    errors.push(`--client-ip: not an IP address: ${JSON.stringify(clientIp)}`);

  let dnsServers: DnsServerAddress[] | null = null;
  const serverList = (values['dns-server'] ?? []).join(',');
  const serverText = serverList !== '' ? serverList : env.dnsServers;
  if (serverText !== undefined) {
    try {
      dnsServers = parseDnsServers(serverText);
      if (dnsServers.length === 0) errors.push('--dns-server: no server given');
    } catch (err) {
      errors.push(`${serverList !== '' ? '--dns-server' : 'DNS_SERVERS'}: ${(err as Error).message}`);
    }
  }
  const transport = values['dns-transport'] ?? 'udp';
  if (transport !== 'udp' && transport !== 'tcp')
    errors.push(`--dns-transport: expected udp or tcp, got ${JSON.stringify(transport)}`);
  const domainLists = lists(
    '--blocklist-domain',
    values['blocklist-domain'],
    'BLOCKLISTS_DOMAIN',
    env.blocklistsDomain,
    parseDomainBlocklists,
    errors,
  );
  const ipLists = lists(
    '--blocklist-ip',
    values['blocklist-ip'],
    'BLOCKLISTS_IP',
    env.blocklistsIp,
    parseIpBlocklists,
    errors,
  );
  const timeoutMs = parseInteger('--timeout-ms', values['timeout-ms'], 1, MAX_TIMEOUT_MS, errors);
  const maxBytes = parseInteger('--max-bytes', values['max-bytes'], 1, MAX_MESSAGE_BYTES, errors);
  if (errors.length > 0) return { kind: 'error', errors };
  return {
    kind: 'check',
    settings: {
      file: positionals[0] as string,
      json: values.json === true,
      clientIp,
      helo: values.helo,
      mailFrom: values['mail-from'],
      domainLists,
      ipLists,
      dnsServers,
      dnsTransport: transport as 'udp' | 'tcp',
      dnsTimeoutMs: timeoutMs ?? DEFAULT_DNS_TIMEOUT_MS,
      maxBytes: maxBytes ?? DEFAULT_MESSAGE_MAX_BYTES,
    },
  };
}

export const checkMessageUsage = `Usage: mailwarden check-message <file.eml | -> [options]

Checks one raw message as a receiving gateway would: SPF, DKIM, ARC and DMARC, and every URL and
domain of its headers, text and HTML against the domain blocklists (docs/message-check.md).

Envelope (what the SMTP session told the receiver; each optional):
      --client-ip <ip>         The connecting address; without it SPF is not evaluated
      --helo <name>            The EHLO/HELO name (default: the client IP as [address])
      --mail-from <address>    The MAIL FROM address (default: the Return-Path header field)

Blocklists (docs/blocklists.md):
      --blocklist-domain <l>   Domain blocklist zones (else BLOCKLISTS_DOMAIN, else the default set; none to skip)
      --blocklist-ip <lists>   DNSBL zones for the client IP and IP links (else BLOCKLISTS_IP, else the default set)

Other:
      --json                   The whole report as JSON
      --max-bytes <n>          Largest message read (default ${DEFAULT_MESSAGE_MAX_BYTES})
      --dns-server <ip[:port]> Resolver to ask (repeatable; else DNS_SERVERS, else /etc/resolv.conf)
      --dns-transport <udp|tcp>
      --timeout-ms <n>         Per DNS attempt (default ${DEFAULT_DNS_TIMEOUT_MS})

Exit codes: 0 verdict pass, neutral or unknown; 1 suspicious or fail; 2 bad command line or file.
`;

/**
 * Upstream resolver addresses: from DNS_SERVERS (`ip[:port]` list) or, when that is unset,
 * from /etc/resolv.conf. Names are not accepted: resolving a resolver's name needs a resolver.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

export interface DnsServerAddress {
  /** An IPv4 or IPv6 address literal (IPv6 without brackets). */
  host: string;
  port: number;
}

const DEFAULT_PORT = 53;

function parsePort(text: string, entry: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(port >= 1 && port <= 65535)) throw new Error(`bad port in DNS server "${entry}"`);
  return port;
}

/** One entry: `1.2.3.4`, `1.2.3.4:5353`, `::1`, `[::1]`, `[::1]:5353`. */
export function parseDnsServer(entry: string): DnsServerAddress {
  const text = entry.trim();
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    const host = bracketed[1] ?? '';
    if (isIP(host) !== 6) throw new Error(`bad IPv6 address in DNS server "${entry}"`);
    return { host, port: bracketed[2] === undefined ? DEFAULT_PORT : parsePort(bracketed[2], entry) };
  }
  if (isIP(text) !== 0) return { host: text, port: DEFAULT_PORT };
  const colon = text.lastIndexOf(':');
  if (colon > 0 && isIP(text.slice(0, colon)) === 4) {
    return { host: text.slice(0, colon), port: parsePort(text.slice(colon + 1), entry) };
  }
  throw new Error(`bad DNS server "${entry}": expected ip[:port] or [ipv6]:port`);
}

/** A comma (or whitespace) separated list, e.g. DNS_SERVERS="127.0.0.1:5353,[::1]:53,10.0.0.1". */
export function parseDnsServers(list: string): DnsServerAddress[] {
  return list
    .split(/[,\s]+/)
    .filter((entry) => entry.length > 0)
    .map(parseDnsServer);
}

/**
 * The `nameserver` lines of resolv.conf(5), in order, port 53. Returns [] when the file is
 * missing or lists none: unlike glibc we do not silently fall back to 127.0.0.1, so a
 * misconfigured host is a configuration error, not a resolver that never answers.
 */
export function readSystemDnsServers(path = '/etc/resolv.conf'): DnsServerAddress[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const servers: DnsServerAddress[] = [];
  for (const line of text.split('\n')) {
    const fields = line
      .replace(/[#;].*$/, '')
      .trim()
      .split(/\s+/);
    if (fields[0] !== 'nameserver' || fields[1] === undefined) continue;
    const host = fields[1];
    // A scoped IPv6 address (fe80::1%eth0) is usable as is by the socket layer.
    if (isIP(host.split('%')[0] ?? '') !== 0) servers.push({ host, port: DEFAULT_PORT });
  }
  return servers;
}

export function formatDnsServer(server: DnsServerAddress): string {
  return server.host.includes(':') ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}

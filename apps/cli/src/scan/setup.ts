/**
 * The file and system reads a scan needs before it starts, each failure a usage error (exit 2)
 * with a message naming the file: the extra CA certificates, the resolvers from /etc/resolv.conf
 * when none were given, and the domain list of bulk mode.
 */

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { normalizeScanDomain } from '@mailwarden/checks';
import { type DnsServerAddress, readSystemDnsServers } from '@mailwarden/net';
import { parseDomainList } from './bulk.ts';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
/** Lines of a bad domain list quoted back; the count says how many more there are. */
const MAX_REPORTED_BAD_LINES = 10;

type Read<T> = { ok: true; value: T } | { ok: false; errors: string[] };

function readText(path: string, what: string): Read<string> {
  try {
    return { ok: true, value: readFileSync(path === '-' ? 0 : path, 'utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return { ok: false, errors: [`${what} ${JSON.stringify(path)} cannot be read (${code})`] };
  }
}

/** Every certificate of every file, each checked to parse, so a wrong file fails here, not in TLS. */
export function readCaFiles(paths: readonly string[]): Read<string[]> {
  const pems: string[] = [];
  const errors: string[] = [];
  for (const path of paths) {
    const text = readText(path, '--ca-file');
    if (!text.ok) {
      errors.push(...text.errors);
      continue;
    }
    const found = text.value.match(PEM_CERTIFICATE) ?? [];
    if (found.length === 0) errors.push(`--ca-file ${JSON.stringify(path)} holds no PEM certificate`);
    for (const pem of found) {
      try {
        new X509Certificate(pem);
        pems.push(pem);
      } catch (err) {
        errors.push(
          `--ca-file ${JSON.stringify(path)}: a certificate does not parse (${(err as Error).message})`,
        );
      }
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: pems };
}

export function resolveDnsServers(given: DnsServerAddress[] | null): Read<DnsServerAddress[]> {
  if (given !== null) return { ok: true, value: given };
  const system = readSystemDnsServers();
  if (system.length > 0) return { ok: true, value: system };
  return {
    ok: false,
    errors: ['no DNS server: /etc/resolv.conf lists none; pass --dns-server ip[:port] or set DNS_SERVERS'],
  };
}

export function readDomainFile(path: string): Read<string[]> {
  const text = readText(path, '--file');
  if (!text.ok) return text;
  const list = parseDomainList(text.value, normalizeScanDomain);
  if (list.invalid.length > 0) {
    const shown = list.invalid
      .slice(0, MAX_REPORTED_BAD_LINES)
      .map(
        (bad) =>
          `--file ${JSON.stringify(path)} line ${bad.line}: not a domain name: ${JSON.stringify(bad.text)}`,
      );
    const more = list.invalid.length - shown.length;
    return { ok: false, errors: more > 0 ? [...shown, `… and ${more} more bad lines`] : shown };
  }
  if (list.domains.length === 0)
    return { ok: false, errors: [`--file ${JSON.stringify(path)} lists no domain`] };
  return { ok: true, value: list.domains };
}

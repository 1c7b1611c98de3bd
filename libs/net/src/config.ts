/**
 * The network variables shared by every app that talks to the outside (DESIGN.md §4): where DNS
 * questions go, which non-public ranges probes, fetches and webhooks may reach, and extra CAs.
 */
import { readFileSync } from 'node:fs';
import type { VariableSpec } from '@mailwarden/core';
import { type DnsServerAddress, parseDnsServers, readSystemDnsServers } from './dns/servers.ts';
import { type AllowList, parseAllowList } from './ssrf/cidr.ts';

const dnsServers: VariableSpec<DnsServerAddress[]> = {
  description: 'upstream DNS resolvers, ip[:port] comma list',
  // Tests must name their loopback server: no test may fall back to the machine's resolver.
  fallback: (mode) => {
    if (mode === 'test') return undefined;
    const servers = readSystemDnsServers();
    return servers.length > 0 ? servers : undefined;
  },
  parse(raw) {
    const servers = parseDnsServers(raw);
    if (servers.length === 0) throw new Error('names no server');
    return servers;
  },
};

const allowCidrs: VariableSpec<AllowList> = {
  description: 'non-public ranges that probes, fetches and webhooks may reach (labs, tests)',
  fallback: [],
  parse(raw) {
    const parsed = parseAllowList(raw);
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    return parsed.allow;
  },
};

/** PEM certificates, read once at start; a missing or empty file is a configuration error. */
const extraCaFile: VariableSpec<string[]> = {
  description: 'PEM file of extra CA certificates trusted for MX certificates, MTA-STS and webhooks',
  fallback: [],
  parse(raw) {
    const text = readFileSync(raw, 'utf8');
    const certs = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (certs.length === 0) throw new Error('holds no PEM certificate');
    return certs;
  },
};

export const netVariables = {
  DNS_SERVERS: dnsServers,
  PROBE_ALLOW_CIDRS: allowCidrs,
  TLS_EXTRA_CA_FILE: extraCaFile,
};

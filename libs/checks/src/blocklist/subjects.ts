/**
 * What a domain's blocklist check looks at (issue 8): every address of every MX host (or of the
 * domain itself when it has no MX: the implicit MX of RFC 5321 §5.1) and every sending IP the
 * tenant declares, against the IP lists; the domain, its MX hosts and its NS hosts against the
 * domain lists (each reduced to its registrable domain when checked).
 */
import type { Resolver } from '@mailwarden/core';
import type { CheckResult } from '../findings.ts';
import { MAX_MX_HOSTS } from '../mx/analyse-mx.ts';
import { type BlocklistFacts, checkBlocklists } from './blocklist.ts';
import type { BlocklistZone } from './lists.ts';

/** NS hosts followed; a zone has a handful. */
export const MAX_NS_HOSTS = 16;

export interface BlocklistSubjects {
  ips: string[];
  domains: string[];
  origins: Record<string, string[]>;
  /** A lookup needed to find the subjects did not answer: some subjects may be missing. */
  incomplete: boolean;
}

const canonical = (name: string) => name.toLowerCase().replace(/\.$/, '');

export async function gatherBlocklistSubjects(
  domain: string,
  resolver: Resolver,
  sendingIps: readonly string[] = [],
): Promise<BlocklistSubjects> {
  const origins: Record<string, string[]> = {};
  const note = (key: string, origin: string) => {
    const list = origins[key] ?? [];
    if (!list.includes(origin)) list.push(origin);
    origins[key] = list;
  };
  let incomplete = false;
  const ips: string[] = [];
  const domains: string[] = [domain];
  note(domain, 'domain');
  for (const ip of sendingIps) {
    ips.push(ip);
    note(ip, 'sending ip');
  }

  const [mx, ns] = await Promise.all([resolver.query(domain, 'MX'), resolver.query(domain, 'NS')]);
  if (mx.status === 'unknown' || ns.status === 'unknown') incomplete = true;
  let hosts: string[] = [];
  if (mx.status === 'answer') {
    hosts = [...new Set(mx.records.map((r) => canonical(r.exchange)).filter((h) => h !== ''))].slice(
      0,
      MAX_MX_HOSTS,
    );
  } else if (mx.status === 'nxdomain' || mx.status === 'nodata') {
    // No MX: mail goes to the domain's own addresses (RFC 5321 §5.1).
    hosts = [domain];
  }
  if (ns.status === 'answer') {
    for (const host of [...new Set(ns.records.map(canonical))].slice(0, MAX_NS_HOSTS)) {
      domains.push(host);
      note(host, `ns ${host}`);
    }
  }
  const addressSets = await Promise.all(
    hosts.map(async (host) => {
      const [a, aaaa] = await Promise.all([resolver.query(host, 'A'), resolver.query(host, 'AAAA')]);
      if (a.status === 'unknown' || aaaa.status === 'unknown') incomplete = true;
      return {
        host,
        addresses: [
          ...(a.status === 'answer' ? a.records : []),
          ...(aaaa.status === 'answer' ? aaaa.records : []),
        ],
      };
    }),
  );
  for (const { host, addresses } of addressSets) {
    if (host !== domain) {
      domains.push(host);
      note(host, `mx ${host}`);
    }
    for (const address of addresses) {
      ips.push(address);
      note(address, host === domain && mx.status !== 'answer' ? `implicit mx ${host}` : `mx ${host}`);
    }
  }
  return { ips, domains, origins, incomplete };
}

export interface DomainBlocklistOptions {
  resolver: Resolver;
  ipLists: readonly BlocklistZone[];
  domainLists: readonly BlocklistZone[];
  /** Sending IPs the tenant declares (or DMARC reports revealed). */
  sendingIps?: readonly string[];
}

/**
 * The blocklist check of one domain: its subjects, then every list. When the subjects could not
 * all be found (MX or NS lookup unknown) the result says so in `subjectsIncomplete`; a subject that
 * went missing this way is undetermined, not delisted.
 */
export async function checkDomainBlocklists(
  domain: string,
  options: DomainBlocklistOptions,
): Promise<CheckResult<BlocklistFacts & { subjectsIncomplete: boolean }>> {
  const subjects = await gatherBlocklistSubjects(domain, options.resolver, options.sendingIps ?? []);
  const result = await checkBlocklists(options.resolver, {
    ips: subjects.ips,
    domains: subjects.domains,
    origins: subjects.origins,
    ipLists: options.ipLists,
    domainLists: options.domainLists,
  });
  return {
    ...result,
    // Missing subjects are not knowing: the monitoring layer must not read absences as delistings.
    status: subjects.incomplete ? 'unknown' : result.status,
    facts: { ...result.facts, subjectsIncomplete: subjects.incomplete },
  };
}

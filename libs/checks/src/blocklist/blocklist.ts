/**
 * The blocklist check: IP addresses against DNSBLs and domains against domain blocklists, through
 * the injected `Resolver` (RFC 5782). Pure: answers are cached per TTL by whatever resolver is
 * passed in — in the product libs/net's DNS client, one per process, so every tenant whose MX
 * sits on the same address shares one answer until its TTL runs out.
 *
 * Delistings are events (DESIGN.md §2.5). The facts carry, per subject, the set of lists it is on
 * (`listed`) and the lists that could not be asked this run (`undetermined`): the monitoring layer
 * diffs `listed` between runs, and a listing finding that resolves is the delisting — unless its
 * (subject, list) is undetermined this run, which is not knowing, never a delisting.
 */
import type { Resolver } from '@mailwarden/core';
import { formatIp, parseIp, unmapIPv4 } from '@mailwarden/core';
import { getDomain } from 'tldts';
import { type CheckResult, type Finding, resultOf } from '../findings.ts';
import { clip, normalizeDnsName } from '../shared/dns-name.ts';
import { blocklistFindings as F } from './blocklist-findings.ts';
import type { BlocklistZone } from './lists.ts';
import { type CodeOutcome, domainQueryName, interpretAnswer, ipQueryName, type ListAnswer } from './query.ts';

/** Subjects checked per run; beyond, the rest is left out and `truncated` says so. */
export const MAX_IP_SUBJECTS = 64;
export const MAX_DOMAIN_SUBJECTS = 128;
/** Queries in flight at once for one check, so a big message or zone cannot burst the resolver. */
export const MAX_CONCURRENT_LOOKUPS = 16;
/** Reason text kept per listing (TXT records are free text chosen by the list). */
export const MAX_REASON_CHARS = 512;
/** Unknown lookups quoted per list in the `lookup_unknown` evidence; the count says the rest. */
const MAX_QUOTED_UNKNOWN = 10;

export interface BlocklistLookup {
  kind: 'ip' | 'domain';
  /** The canonical address, or the registrable domain. */
  subject: string;
  zone: string;
  query: string;
  state: ListAnswer['state'];
  codes: CodeOutcome[];
  /** The list's TXT reason for a listing (RFC 5782 §2.1), clipped. */
  reason?: string;
  /** Why the lookup is unknown. */
  detail?: string;
}

export interface BlocklistFacts {
  ipLists: string[];
  domainLists: string[];
  ips: string[];
  domains: string[];
  /** Where each subject came from (`mx mx1.example.com`, `ns ns1.example.net`, `sending ip`, …). */
  origins: Record<string, string[]>;
  lookups: BlocklistLookup[];
  /** Subject -> lists it is on, sorted: the set the monitoring layer diffs between runs. */
  listed: Record<string, string[]>;
  /** Subject -> lists that gave no verdict this run: keep the previous state for these. */
  undetermined: Record<string, string[]>;
  /** Lists that list their RFC 5782 §5 "never listed" test entry: they answer everything, so nothing they say counts. */
  brokenLists: string[];
  truncated: boolean;
}

export interface CheckBlocklistsInput {
  /** Addresses for the IP lists: MX addresses, declared sending IPs. */
  ips?: readonly string[];
  /** Names for the domain lists; each is reduced to its registrable domain first. */
  domains?: readonly string[];
  ipLists: readonly BlocklistZone[];
  domainLists: readonly BlocklistZone[];
  /** Optional provenance per input address or name, copied into the facts. */
  origins?: Readonly<Record<string, readonly string[]>>;
  /** Ask each list its RFC 5782 §5 test entry that must never be listed (default true). */
  verifyLists?: boolean;
}

/**
 * The name a domain blocklist is asked about: the registrable domain, the Public Suffix List with
 * its private section (so `shop.example.github.io` stays `example.github.io`: lists list the
 * abused customer site, not the host platform). DMARC's organisational domain uses the ICANN
 * section only (dmarc/org-domain.ts); the two questions differ.
 */
export function blocklistDomainOf(name: string): string | undefined {
  const normalized = normalizeDnsName(name);
  if (normalized === null || parseIp(normalized)) return undefined;
  const registrable = getDomain(normalized, { allowPrivateDomains: true, extractHostname: false });
  return registrable ?? undefined;
}

function canonicalIp(text: string): string | undefined {
  const parsed = parseIp(text.trim().replace(/^\[|\]$/g, ''));
  return parsed ? formatIp(unmapIPv4(parsed)) : undefined;
}

/** Runs `work` over `items` with at most `limit` at once, results in input order. */
async function pooled<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      out[index] = await work(items[index] as T);
    }
  });
  await Promise.all(runners);
  return out;
}

function txtReason(result: Awaited<ReturnType<Resolver['query']>>): string | undefined {
  if (result.status !== 'answer' || result.type !== 'TXT') return undefined;
  const texts = (result.records as string[][]).map((strings) => strings.join(''));
  return texts.length > 0 ? clip(texts.join(' / '), MAX_REASON_CHARS) : undefined;
}

interface Pending {
  kind: 'ip' | 'domain';
  subject: string;
  list: BlocklistZone;
  query: string;
}

async function lookup(resolver: Resolver, p: Pending, broken: boolean): Promise<BlocklistLookup> {
  const base = { kind: p.kind, subject: p.subject, zone: p.list.zone, query: p.query };
  const a = await resolver.query(p.query, 'A');
  const answer = interpretAnswer(p.list, a);
  if (answer.state === 'listed' && broken)
    return {
      ...base,
      state: 'unknown',
      codes: answer.codes,
      detail: 'the list answers its never-listed test entry too (RFC 5782 §5): it lists everything',
    };
  if (answer.state === 'listed') {
    const reason = txtReason(await resolver.query(p.query, 'TXT'));
    return { ...base, state: 'listed', codes: answer.codes, ...(reason ? { reason } : {}) };
  }
  if (answer.state === 'unknown')
    return { ...base, state: 'unknown', codes: answer.codes, detail: answer.detail };
  return { ...base, state: 'not_listed', codes: [] };
}

/**
 * RFC 5782 §5: an IP list must not list 127.0.0.1, a domain list must not list `INVALID`. A list
 * that does answers every query (a retired list wildcarding its zone does exactly this).
 */
async function listsEverything(
  resolver: Resolver,
  kind: 'ip' | 'domain',
  list: BlocklistZone,
): Promise<boolean> {
  const query = kind === 'ip' ? ipQueryName('127.0.0.1', list.zone) : domainQueryName('invalid', list.zone);
  if (query === undefined) return false;
  const answer = interpretAnswer(list, await resolver.query(query, 'A'));
  return answer.state === 'listed';
}

function addTo(map: Record<string, string[]>, key: string, value: string): void {
  const values = map[key] ?? [];
  if (!values.includes(value)) values.push(value);
  map[key] = values;
}

function describeCodes(codes: readonly CodeOutcome[]): string {
  return codes
    .filter((c) => c.kind === 'listed')
    .map((c) => `${c.answer} (${c.meaning})`)
    .join(', ');
}

function listingFinding(l: BlocklistLookup, origins: readonly string[]): Finding {
  const make = l.kind === 'ip' ? F.ip_listed.make : F.domain_listed.make;
  const what = l.kind === 'ip' ? 'Address' : 'Domain';
  return make(
    `${l.subject} on ${l.zone}`,
    `${what} ${l.subject} is listed on ${l.zone}: ${describeCodes(l.codes)}${l.reason ? ` — ${l.reason}` : ''}.`,
    {
      subject: l.subject,
      list: l.zone,
      query: l.query,
      codes: l.codes
        .filter((c) => c.kind === 'listed')
        .map((c) => ({ answer: c.answer, meaning: c.meaning })),
      ...(l.reason ? { reason: l.reason } : {}),
      ...(origins.length > 0 ? { origins: [...origins] } : {}),
    },
  );
}

function unknownFindings(lookups: readonly BlocklistLookup[]): Finding[] {
  const byZone = new Map<string, BlocklistLookup[]>();
  for (const l of lookups) if (l.state === 'unknown') byZone.set(l.zone, [...(byZone.get(l.zone) ?? []), l]);
  return [...byZone].map(([zone, failed]) =>
    F.lookup_unknown.make(
      zone,
      `${failed.length} ${failed.length === 1 ? 'lookup' : 'lookups'} on ${zone} gave no verdict: ${failed[0]?.detail ?? 'unknown'}.`,
      {
        list: zone,
        count: failed.length,
        lookups: failed.slice(0, MAX_QUOTED_UNKNOWN).map((l) => ({
          subject: l.subject,
          query: l.query,
          detail: l.detail,
          answers: l.codes.map((c) => c.answer),
        })),
      },
    ),
  );
}

/** Checks addresses and domains against the given lists; never throws for DNS problems. */
export async function checkBlocklists(
  resolver: Resolver,
  input: CheckBlocklistsInput,
): Promise<CheckResult<BlocklistFacts>> {
  const origins: Record<string, string[]> = {};
  const ips: string[] = [];
  let truncated = false;
  for (const raw of input.ips ?? []) {
    const ip = canonicalIp(raw);
    if (ip === undefined) continue;
    for (const o of input.origins?.[raw] ?? []) addTo(origins, ip, o);
    if (ips.includes(ip)) continue;
    if (ips.length >= MAX_IP_SUBJECTS) truncated = true;
    else ips.push(ip);
  }
  const domains: string[] = [];
  for (const raw of input.domains ?? []) {
    const domain = blocklistDomainOf(raw);
    if (domain === undefined) continue;
    for (const o of input.origins?.[raw] ?? []) addTo(origins, domain, o);
    if (domains.includes(domain)) continue;
    if (domains.length >= MAX_DOMAIN_SUBJECTS) truncated = true;
    else domains.push(domain);
  }

  const pending: Pending[] = [];
  for (const list of input.ipLists)
    for (const subject of ips) {
      const query = ipQueryName(subject, list.zone);
      if (query !== undefined) pending.push({ kind: 'ip', subject, list, query });
    }
  for (const list of input.domainLists)
    for (const subject of domains) {
      const query = domainQueryName(subject, list.zone);
      if (query !== undefined) pending.push({ kind: 'domain', subject, list, query });
    }

  // Only lists that will be asked something are health-checked.
  const asked = new Map<string, { kind: 'ip' | 'domain'; list: BlocklistZone }>();
  for (const p of pending) asked.set(`${p.kind} ${p.list.zone}`, { kind: p.kind, list: p.list });
  const brokenKeys = new Set<string>();
  if (input.verifyLists !== false) {
    const verdicts = await pooled([...asked.values()], MAX_CONCURRENT_LOOKUPS, async (a) =>
      (await listsEverything(resolver, a.kind, a.list)) ? `${a.kind} ${a.list.zone}` : null,
    );
    for (const v of verdicts) if (v !== null) brokenKeys.add(v);
  }

  const lookups = await pooled(pending, MAX_CONCURRENT_LOOKUPS, (p) =>
    lookup(resolver, p, brokenKeys.has(`${p.kind} ${p.list.zone}`)),
  );

  const listed: Record<string, string[]> = {};
  const undetermined: Record<string, string[]> = {};
  const findings: Finding[] = [];
  for (const l of lookups) {
    if (l.state === 'listed') {
      addTo(listed, l.subject, l.zone);
      findings.push(listingFinding(l, origins[l.subject] ?? []));
    } else if (l.state === 'unknown') addTo(undetermined, l.subject, l.zone);
  }
  for (const zones of Object.values(listed)) zones.sort();
  for (const zones of Object.values(undetermined)) zones.sort();
  findings.push(...unknownFindings(lookups));

  const facts: BlocklistFacts = {
    ipLists: input.ipLists.map((l) => l.zone),
    domainLists: input.domainLists.map((l) => l.zone),
    ips,
    domains,
    origins,
    lookups,
    listed,
    undetermined,
    brokenLists: [...brokenKeys].map((k) => k.slice(k.indexOf(' ') + 1)),
    truncated,
  };
  const allUnknown = lookups.length > 0 && lookups.every((l) => l.state === 'unknown');
  return resultOf('blocklist', facts, findings, allUnknown);
}

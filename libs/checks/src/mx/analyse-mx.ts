/**
 * The MX check: what receives mail for a domain, and whether it is published the way RFC 5321,
 * RFC 7505 and RFC 2181 require. Pure: all DNS goes through the injected `Resolver`.
 */
import type { DnsResult, RecordType, Resolver } from '@mailwarden/core';
import { type CheckResult, type Finding, resultOf } from '../findings.ts';
import { mxFindings as F } from './mx-findings.ts';
import { identifyProvider, type MailProvider } from './providers.ts';
import { addressKey, looksLikeAddress, reverseName } from './reverse-name.ts';

/** No real domain has more; beyond this we only wander through a hostile answer. */
export const MAX_MX_HOSTS = 32;
/** Addresses per MX host checked for forward-confirmed reverse DNS. */
export const MAX_FCRDNS_ADDRESSES_PER_HOST = 8;
/** PTR names followed per address; RFC 7208 §4.6.4 caps SPF's ptr at 10 the same way. */
export const MAX_PTR_NAMES = 10;

export interface MxAddressFacts {
  address: string;
  family: 4 | 6;
  ptr: string[];
  /** Whether a PTR name resolves back to this address; `unknown` when DNS did not answer. */
  fcrdns: boolean | 'unknown';
  confirmedBy?: string;
}

export interface MxHostFacts {
  host: string;
  preference: number;
  resolution: 'ok' | 'unresolvable' | 'unknown' | 'ip_literal';
  cnameChain: string[];
  addresses: MxAddressFacts[];
  provider?: MailProvider;
}

export interface MxFacts {
  domain: string;
  /** `explicit` MX records, a `null` MX, `implicit` A/AAAA fallback, or `none` at all. */
  mode: 'explicit' | 'null' | 'implicit' | 'none' | 'unknown';
  hosts: MxHostFacts[];
  /** For an implicit MX: the domain's own addresses. */
  implicitAddresses: string[];
  providers: MailProvider[];
  /** True when more than MAX_MX_HOSTS hosts were published and the rest were not examined. */
  truncated: boolean;
}

export interface AnalyseMxOptions {
  /** Forward-confirmed reverse DNS costs a PTR and an A/AAAA query per address. Default true. */
  checkFcrdns?: boolean;
}

const canonical = (name: string) => name.toLowerCase().replace(/\.$/, '');
const isNullExchange = (exchange: string) => exchange === '' || exchange === '.';

interface Ctx {
  resolver: Resolver;
  findings: Finding[];
  unknown: boolean;
}

type UnknownResult = Extract<DnsResult<RecordType>, { status: 'unknown' }>;
const isUnknown = <R extends DnsResult<RecordType>>(r: R): r is Extract<R, { status: 'unknown' }> =>
  r.status === 'unknown';

function noteUnknown(ctx: Ctx, subject: string, result: UnknownResult) {
  ctx.unknown = true;
  ctx.findings.push(
    F.lookup_unknown.make(
      subject,
      `${result.type} lookup for ${result.name} did not answer (${result.reason}).`,
      {
        name: result.name,
        type: result.type,
        reason: result.reason,
      },
    ),
  );
}

async function addressesOf(ctx: Ctx, name: string) {
  const [a, aaaa] = await Promise.all([ctx.resolver.query(name, 'A'), ctx.resolver.query(name, 'AAAA')]);
  const list: { address: string; family: 4 | 6 }[] = [];
  if (a.status === 'answer') for (const r of a.records) list.push({ address: r, family: 4 });
  if (aaaa.status === 'answer') for (const r of aaaa.records) list.push({ address: r, family: 6 });
  const chain =
    a.status !== 'unknown' && a.cnameChain.length > 0
      ? a.cnameChain
      : aaaa.status !== 'unknown'
        ? aaaa.cnameChain
        : [];
  const unknowns = [a, aaaa].filter(isUnknown);
  return { list, chain, unknowns, nx: a.status === 'nxdomain' || aaaa.status === 'nxdomain' };
}

/** RFC 8601 §3 iprev: PTR of the address, then the PTR names forward, must include the address. */
async function fcrdns(ctx: Ctx, host: string, address: string, family: 4 | 6): Promise<MxAddressFacts> {
  const facts: MxAddressFacts = { address, family, ptr: [], fcrdns: false };
  const name = reverseName(address);
  const key = addressKey(address);
  if (!name || !key) return facts;
  const ptr = await ctx.resolver.query(name, 'PTR');
  if (ptr.status === 'unknown') {
    noteUnknown(ctx, host, ptr);
    return { ...facts, fcrdns: 'unknown' };
  }
  if (ptr.status === 'answer') facts.ptr = ptr.records.map(canonical).slice(0, MAX_PTR_NAMES);
  let sawUnknown = false;
  for (const target of facts.ptr) {
    const fwd = await ctx.resolver.query(target, family === 4 ? 'A' : 'AAAA');
    if (fwd.status === 'unknown') {
      sawUnknown = true;
      continue;
    }
    if (fwd.status === 'answer' && fwd.records.some((r) => addressKey(r) === key)) {
      return { ...facts, fcrdns: true, confirmedBy: target };
    }
  }
  if (sawUnknown) {
    ctx.unknown = true;
    return { ...facts, fcrdns: 'unknown' };
  }
  ctx.findings.push(
    F.no_fcrdns.make(
      address,
      facts.ptr.length === 0
        ? `MX ${host} address ${address} has no PTR record.`
        : `MX ${host} address ${address} has PTR ${facts.ptr.join(', ')}, which does not resolve back to ${address}.`,
      { host, address, reverseName: name, ptr: facts.ptr },
    ),
  );
  return facts;
}

async function examineHost(
  ctx: Ctx,
  host: string,
  preference: number,
  checkFcrdns: boolean,
): Promise<MxHostFacts> {
  const provider = identifyProvider(host);
  const facts: MxHostFacts = {
    host,
    preference,
    resolution: 'ok',
    cnameChain: [],
    addresses: [],
    ...(provider ? { provider } : {}),
  };
  if (looksLikeAddress(host)) {
    ctx.findings.push(
      F.ip_literal.make(
        host,
        `MX record (preference ${preference}) holds the address ${host}, not a host name.`,
        {
          preference,
          exchange: host,
        },
      ),
    );
    return { ...facts, resolution: 'ip_literal' };
  }
  const r = await addressesOf(ctx, host);
  facts.cnameChain = r.chain;
  if (r.chain.length > 0) {
    ctx.findings.push(
      F.cname.make(host, `MX host ${host} is an alias for ${r.chain.at(-1)}.`, {
        exchange: host,
        cnameChain: r.chain,
      }),
    );
  }
  if (r.list.length === 0) {
    if (r.unknowns.length > 0) {
      for (const u of r.unknowns) noteUnknown(ctx, host, u);
      return { ...facts, resolution: 'unknown' };
    }
    ctx.findings.push(
      F.host_unresolvable.make(
        host,
        `MX host ${host} has no A or AAAA record (${r.nx ? 'NXDOMAIN' : 'NODATA'}).`,
        {
          exchange: host,
          preference,
          rcode: r.nx ? 'NXDOMAIN' : 'NOERROR/NODATA',
        },
      ),
    );
    return { ...facts, resolution: 'unresolvable' };
  }
  // Addresses we have are facts even if the other family did not answer; the run is still unknown.
  for (const u of r.unknowns) noteUnknown(ctx, host, u);
  facts.addresses = checkFcrdns
    ? await Promise.all(
        r.list.slice(0, MAX_FCRDNS_ADDRESSES_PER_HOST).map((a) => fcrdns(ctx, host, a.address, a.family)),
      )
    : r.list.map((a) => ({ ...a, ptr: [], fcrdns: 'unknown' as const }));
  return facts;
}

function uniqueProviders(hosts: MxHostFacts[]): MailProvider[] {
  const byId = new Map<string, MailProvider>();
  for (const h of hosts) if (h.provider) byId.set(h.provider.id, h.provider);
  return [...byId.values()];
}

export async function analyseMx(
  domainInput: string,
  resolver: Resolver,
  options: AnalyseMxOptions = {},
): Promise<CheckResult<MxFacts>> {
  const domain = canonical(domainInput);
  const ctx: Ctx = { resolver, findings: [], unknown: false };
  const facts: MxFacts = {
    domain,
    mode: 'none',
    hosts: [],
    implicitAddresses: [],
    providers: [],
    truncated: false,
  };
  const done = () => resultOf('mx', facts, ctx.findings, ctx.unknown);

  const mx = await resolver.query(domain, 'MX');
  if (mx.status === 'unknown') {
    noteUnknown(ctx, domain, mx);
    facts.mode = 'unknown';
    return done();
  }
  if (mx.status === 'nxdomain') {
    ctx.findings.push(
      F.missing.make(domain, `${domain} does not exist (NXDOMAIN): it cannot receive mail.`, {
        rcode: 'NXDOMAIN',
      }),
    );
    return done();
  }
  if (mx.status !== 'answer') {
    // NODATA. RFC 5321 §5.1: no MX at all means the domain itself is the implicit MX, preference 0.
    const own = await addressesOf(ctx, domain);
    if (own.list.length > 0) {
      facts.mode = 'implicit';
      facts.implicitAddresses = own.list.map((a) => a.address);
      ctx.findings.push(
        F.implicit_mx.make(
          domain,
          `${domain} has no MX record; senders fall back to its addresses ${facts.implicitAddresses.join(', ')}.`,
          {
            addresses: facts.implicitAddresses,
          },
        ),
      );
    } else if (own.unknowns.length > 0) {
      for (const u of own.unknowns) noteUnknown(ctx, domain, u);
      facts.mode = 'unknown';
    } else {
      ctx.findings.push(
        F.missing.make(domain, `${domain} has no MX record and no A/AAAA record to fall back on.`, {
          mx: 'NODATA',
        }),
      );
    }
    return done();
  }

  const records = [...mx.records].sort((a, b) => a.preference - b.preference);
  const nulls = records.filter((r) => isNullExchange(r.exchange));
  if (nulls.length > 0) {
    const evidence = { records: records.map((r) => `${r.preference} ${r.exchange || '.'}`) };
    if (records.length === 1 && nulls[0]?.preference === 0) {
      facts.mode = 'null';
      ctx.findings.push(
        F.null_mx.make(domain, `${domain} publishes a null MX ("0 ."): it accepts no mail.`, evidence),
      );
      return done();
    }
    ctx.findings.push(
      F.null_mx_mixed.make(
        domain,
        records.length === 1
          ? `${domain} publishes a null MX with preference ${nulls[0]?.preference}, not 0.`
          : `${domain} publishes a null MX together with ${records.length - nulls.length} other MX record(s).`,
        evidence,
      ),
    );
  }

  facts.mode = 'explicit';
  const seen = new Map<string, number>();
  const hosts: { host: string; preference: number }[] = [];
  for (const r of records) {
    if (isNullExchange(r.exchange)) continue;
    const host = canonical(r.exchange);
    const first = seen.get(host);
    if (first !== undefined) {
      ctx.findings.push(
        F.duplicate_host.make(
          host,
          `${host} is listed as MX with preference ${first} and again with ${r.preference}.`,
          {
            preferences: [first, r.preference],
          },
        ),
      );
      continue;
    }
    seen.set(host, r.preference);
    hosts.push({ host, preference: r.preference });
  }
  facts.truncated = hosts.length > MAX_MX_HOSTS;
  const checkFcrdns = options.checkFcrdns ?? true;
  // Hosts are examined concurrently, each with its own findings list, merged in MX order so the
  // output does not depend on which answer came first.
  const examined = await Promise.all(
    hosts.slice(0, MAX_MX_HOSTS).map(async (h) => {
      const own: Ctx = { resolver, findings: [], unknown: false };
      return { own, facts: await examineHost(own, h.host, h.preference, checkFcrdns) };
    }),
  );
  for (const { own, facts: hostFacts } of examined) {
    facts.hosts.push(hostFacts);
    ctx.findings.push(...own.findings);
    ctx.unknown ||= own.unknown;
  }
  facts.providers = uniqueProviders(facts.hosts);
  return done();
}

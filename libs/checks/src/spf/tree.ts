/**
 * The SPF evaluation tree for monitoring: every include and redirect as a node with its own
 * record, terms and DNS-lookup cost, in the order check_host() would evaluate them for a sender
 * that matches nothing (the worst case the RFC 7208 §4.6.4 limits are about).
 *
 * The walk is sequential in evaluation order so the running lookup count, and so the node that
 * goes over the limit, is deterministic. It is bounded: once MAX_ANALYSED_LOOKUPS lookup terms
 * are counted, further includes are counted but not followed.
 */
import type { DnsResult, RecordType, Resolver } from '@mailwarden/core';
import { canonicalDomain, domainNameProblem } from './domain-name.ts';
import { expandDomainSpec, type MacroValues, macroLetters, usesMacros } from './macro.ts';
import {
  DNS_MECHANISMS,
  type DomainSpec,
  type Mechanism,
  type ParsedSpf,
  parseSpfRecord,
  type Term,
} from './parse.ts';
import { checkHostDomainProblem, joinTxt, MAX_DNS_MECHANISMS, selectSpfRecord } from './record.ts';
import type { SpfNode, SpfTermView, Walk } from './tree-model.ts';

/** Analysis bound, five times the RFC limit: enough to show how far over a real policy is. */
export const MAX_ANALYSED_LOOKUPS = 5 * MAX_DNS_MECHANISMS;
/** Macro letters whose value is known when analysing mail from the domain itself. */
const STATIC_LETTERS = new Set(['d', 'o']);

const octets = (text: string) => new TextEncoder().encode(text).length;

function lookup<T extends RecordType>(
  walk: Walk,
  name: string,
  type: T,
  node: string,
): Promise<DnsResult<T>> {
  const key = `${type} ${canonicalDomain(name)}`;
  let answer = walk.answers.get(key);
  if (!answer) {
    answer = walk.resolver.query(name, type).then((result) => {
      if (result.status === 'unknown') walk.unknown.push({ name, type, reason: result.reason, node });
      return result;
    });
    walk.answers.set(key, answer);
  }
  return answer as Promise<DnsResult<T>>;
}

function staticTarget(
  walk: Walk,
  spec: DomainSpec | undefined,
  domain: string,
): { target?: string; dynamic: boolean } {
  if (!spec) return { target: domain, dynamic: false };
  const letters = macroLetters(spec.tokens);
  if ([...letters].some((letter) => !STATIC_LETTERS.has(letter))) return { dynamic: true };
  const values = { d: domain, o: walk.root } as MacroValues;
  return { target: expandDomainSpec(spec.tokens, values), dynamic: false };
}

function viewOf(term: Term): SpfTermView {
  const tokens = term.domainSpec?.tokens;
  const view: SpfTermView = {
    text: term.text,
    position: term.position,
    kind: term.kind,
    name: term.name,
    countsAsLookup: term.kind === 'mechanism' ? DNS_MECHANISMS.has(term.name) : term.name === 'redirect',
    reachable: false,
    usesMacros: tokens ? usesMacros(tokens) : term.kind === 'modifier' && term.value.includes('%{'),
    dynamic: false,
  };
  if (term.kind === 'mechanism') {
    view.qualifier = term.qualifier;
    if (term.ip4Prefix !== undefined) view.ip4Prefix = term.ip4Prefix;
    if (term.ip6Prefix !== undefined) view.ip6Prefix = term.ip6Prefix;
  }
  return view;
}

function count(walk: Walk, node: SpfNode, view: SpfTermView): void {
  walk.lookups++;
  node.ownLookups++;
  view.lookupNumber = walk.lookups;
  if (walk.lookups === MAX_DNS_MECHANISMS + 1) {
    walk.exceededAt = { domain: node.domain, path: node.path, term: view.text, lookupNumber: walk.lookups };
  }
}

/** Schedules the lookups that tell whether an a / mx / exists term is void, without waiting. */
function scheduleVoidCheck(walk: Walk, node: SpfNode, view: SpfTermView, target: string): void {
  if (domainNameProblem(target)) {
    view.void = { ipv4: true, ipv6: true };
    return;
  }
  const empty = (result: DnsResult<RecordType>) =>
    result.status === 'nxdomain' ||
    result.status === 'nodata' ||
    (result.status === 'answer' && result.records.length === 0);
  const check = async () => {
    if (view.name === 'a') {
      const [v4, v6] = await Promise.all([
        lookup(walk, target, 'A', node.domain),
        lookup(walk, target, 'AAAA', node.domain),
      ]);
      view.void = { ipv4: empty(v4), ipv6: empty(v6) };
    } else if (view.name === 'mx') {
      const mx = await lookup(walk, target, 'MX', node.domain);
      view.void = { ipv4: empty(mx), ipv6: empty(mx) };
      if (mx.status === 'answer') view.mxNames = mx.records.length;
    } else {
      // RFC 7208 §5.7: exists always queries A, whatever the client's family.
      const a = await lookup(walk, target, 'A', node.domain);
      view.void = { ipv4: empty(a), ipv6: empty(a) };
    }
  };
  walk.pending.push(check());
}

async function fetchRecord(walk: Walk, node: SpfNode): Promise<ParsedSpf | undefined> {
  const answer = await lookup(walk, node.domain, 'TXT', node.domain);
  if (answer.status === 'unknown') {
    node.status = 'unknown';
    node.problem = `DNS ${answer.reason} for TXT ${node.domain}`;
    return undefined;
  }
  if (answer.status !== 'answer') {
    node.status = 'none';
    node.problem = `${answer.status.toUpperCase()} for TXT ${node.domain}`;
    return undefined;
  }
  node.answerOctets =
    octets(node.domain) + answer.records.reduce((sum, strings) => sum + octets(joinTxt(strings)), 0);
  const selection = selectSpfRecord(answer.records);
  if (selection.kind === 'none') {
    node.status = 'none';
    node.problem = `no "v=spf1" record among ${answer.records.length} TXT record(s)`;
    return undefined;
  }
  if (selection.kind === 'multiple') {
    node.status = 'multiple';
    node.records = selection.texts;
    node.problem = `${selection.texts.length} SPF records (RFC 7208 §4.5)`;
    return undefined;
  }
  node.record = selection.text;
  node.stringOctets = selection.strings.map(octets);
  return parseSpfRecord(selection.text);
}

async function followTarget(
  walk: Walk,
  node: SpfNode,
  view: SpfTermView,
  spec: DomainSpec | undefined,
  via: 'include' | 'redirect',
): Promise<void> {
  const { target, dynamic } = staticTarget(walk, spec, node.domain);
  view.dynamic = dynamic;
  if (target !== undefined) view.target = target;
  const child = await visit(walk, target ?? spec?.text ?? '', via, view.text, node, dynamic);
  view.childIndex = node.children.length;
  node.children.push(child);
}

/**
 * Term views kept per node. Beyond this, a term is kept only when it leads to a child or had its
 * lookups checked (both bounded by MAX_ANALYSED_LOOKUPS); the rest are counted in omittedTerms,
 * so a hostile 10 000-term record cannot grow the stored facts without bound.
 */
const MAX_TERM_VIEWS = 200;

function keepView(node: SpfNode, view: SpfTermView, important: boolean): void {
  if (important || node.terms.length < MAX_TERM_VIEWS) node.terms.push(view);
  else node.omittedTerms = (node.omittedTerms ?? 0) + 1;
}

async function walkMechanism(
  walk: Walk,
  node: SpfNode,
  term: Mechanism,
  view: SpfTermView,
): Promise<boolean> {
  count(walk, node, view);
  if (term.name === 'include') {
    if (walk.lookups > MAX_ANALYSED_LOOKUPS) {
      walk.truncated = true;
      return false;
    }
    await followTarget(walk, node, view, term.domainSpec, 'include');
    return true;
  }
  if (term.name === 'ptr') return false;
  const { target, dynamic } = staticTarget(walk, term.domainSpec, node.domain);
  view.dynamic = dynamic;
  if (target === undefined) return false;
  view.target = target;
  if (walk.lookups > MAX_ANALYSED_LOOKUPS) return false;
  scheduleVoidCheck(walk, node, view, target);
  return true;
}

async function walkRecord(walk: Walk, node: SpfNode, record: ParsedSpf): Promise<void> {
  let allSeen = false;
  let redirectView: SpfTermView | undefined;
  for (const term of record.terms) {
    const view = viewOf(term);
    if (term.kind === 'modifier') {
      if (term === record.redirect) redirectView = view;
      if (term === record.exp) Object.assign(view, staticTarget(walk, term.domainSpec, node.domain));
      keepView(node, view, term === record.redirect || term === record.exp);
      continue;
    }
    view.reachable = !allSeen;
    if (term.name === 'all') allSeen = true;
    const important = view.countsAsLookup && view.reachable && (await walkMechanism(walk, node, term, view));
    keepView(node, view, important);
  }
  // RFC 7208 §6.1: redirect is used after all mechanisms, and never when "all" is present.
  if (redirectView && !allSeen) {
    redirectView.reachable = true;
    count(walk, node, redirectView);
    if (walk.lookups > MAX_ANALYSED_LOOKUPS) walk.truncated = true;
    else await followTarget(walk, node, redirectView, record.redirect?.domainSpec, 'redirect');
  }
}

export async function visit(
  walk: Walk,
  domain: string,
  via: SpfNode['via'],
  term: string | undefined,
  parent: SpfNode | undefined,
  dynamic = false,
): Promise<SpfNode> {
  const key = canonicalDomain(domain);
  const node: SpfNode = {
    domain,
    via,
    path: [...(parent?.path ?? []), key],
    depth: parent ? parent.depth + 1 : 0,
    status: 'ok',
    terms: [],
    errors: [],
    lookupsBefore: walk.lookups,
    ownLookups: 0,
    cumulativeLookups: 0,
    ownVoidLookups: { ipv4: 0, ipv6: 0 },
    cumulativeVoidLookups: { ipv4: 0, ipv6: 0 },
    children: [],
  };
  if (term !== undefined) node.term = term;
  const nameProblem = dynamic ? undefined : checkHostDomainProblem(domain);
  if (dynamic) {
    node.status = 'dynamic';
    node.problem = 'the target depends on the connection (macros)';
  } else if (parent?.path.includes(key)) {
    node.status = 'loop';
    node.problem = `${via} loop: ${node.path.join(' -> ')}`;
  } else if (nameProblem) {
    node.status = 'invalid_name';
    node.problem = nameProblem;
  } else {
    const record = await fetchRecord(walk, node);
    if (record && record.errorCount > 0) {
      node.status = 'syntax_error';
      node.errors = record.errors;
      node.errorCount = record.errorCount;
      node.problem = `${record.errorCount} syntax error(s)`;
      for (const parsedTerm of record.terms) keepView(node, viewOf(parsedTerm), false);
    } else if (record) {
      await walkRecord(walk, node, record);
    }
  }
  return node;
}

export function createWalk(resolver: Resolver, root: string): Walk {
  return { resolver, root, lookups: 0, answers: new Map(), pending: [], unknown: [], truncated: false };
}

/**
 * analyseSpf(): the explainable monitoring view of a domain's SPF policy. It fetches the record,
 * builds the evaluation tree (tree.ts) and turns what it shows into findings, each naming the
 * node and term that cause it. DNS that cannot answer makes the result `unknown`: findings that
 * are proven by what did answer are still reported, nothing is concluded from what did not.
 */
import type { Resolver } from '@mailwarden/core';
import { type CheckResult, type Finding, resultOf } from '../findings.ts';
import { canonicalDomain, domainNameProblem, stripTrailingDot } from './domain-name.ts';
import { spfFindings } from './findings.ts';
import { parseMacroString } from './macro.ts';
import { cap, clip, firstAll, nodeFindings } from './node-findings.ts';
import type { Qualifier } from './parse.ts';
import { joinTxt, MAX_DNS_MECHANISMS, MAX_VOID_LOOKUPS } from './record.ts';
import { createWalk, visit } from './tree.ts';
import {
  allNodes,
  evaluationOrder,
  type FamilyCounts,
  finishTotals,
  type LookupPosition,
  type SpfNode,
  type SpfTermView,
  type UnknownLookup,
  type Walk,
} from './tree-model.ts';

export { MIN_SAFE_IPV4_PREFIX, MIN_SAFE_IPV6_PREFIX } from './node-findings.ts';

export interface SpfFacts {
  domain: string;
  /** The SPF record at the domain, when there is exactly one. */
  record?: string;
  /** Every SPF record found at the domain, when there are several (RFC 7208 §4.5: permerror). */
  records: string[];
  tree: SpfNode;
  /** DNS-querying terms for a sender that matches nothing (RFC 7208 §4.6.4). */
  totalLookups: number;
  lookupLimit: number;
  voidLookups: FamilyCounts;
  /** The "all" that ends the policy on the root / redirect chain. */
  policyAll?: { qualifier: Qualifier; domain: string };
  /** Includes past the analysis bound were counted, not followed: totals are lower bounds. */
  truncated: boolean;
  unknownLookups: UnknownLookup[];
}

function lookupFindings(domain: string, tree: SpfNode, walk: Walk, findings: Finding[]): void {
  if (walk.lookups <= MAX_DNS_MECHANISMS) return;
  const exceeded = walk.exceededAt as LookupPosition;
  const breakdown = [...allNodes(tree)].map((node) => ({
    domain: node.domain,
    via: node.via,
    path: node.path,
    depth: node.depth,
    lookupsBefore: node.lookupsBefore,
    ownLookups: node.ownLookups,
    cumulativeLookups: node.cumulativeLookups,
  }));
  findings.push(
    spfFindings.too_many_lookups.make(
      domain,
      `${domain} needs ${walk.truncated ? 'at least ' : ''}${walk.lookups} DNS lookups (limit ${MAX_DNS_MECHANISMS}); lookup ${exceeded.lookupNumber} is "${exceeded.term}" in ${exceeded.domain}.`,
      {
        total: walk.lookups,
        atLeast: walk.truncated,
        limit: MAX_DNS_MECHANISMS,
        exceededAt: exceeded,
        // Not capped: the tree holds at most MAX_ANALYSED_LOOKUPS + 1 nodes.
        breakdown,
      },
    ),
  );
}

function voidFindings(domain: string, tree: SpfNode, findings: Finding[]): FamilyCounts {
  const counts = { ipv4: 0, ipv6: 0 };
  const exceededAt: Partial<Record<keyof FamilyCounts, { domain: string; term: string }>> = {};
  const terms: Array<{ domain: string; term: string; target?: string; ipv4: boolean; ipv6: boolean }> = [];
  for (const { node, term } of evaluationOrder(tree)) {
    if (!term.void || (!term.void.ipv4 && !term.void.ipv6)) continue;
    terms.push({ domain: node.domain, term: term.text, target: term.target, ...term.void });
    for (const family of ['ipv4', 'ipv6'] as const) {
      if (!term.void[family]) continue;
      counts[family]++;
      if (counts[family] === MAX_VOID_LOOKUPS + 1)
        exceededAt[family] = { domain: node.domain, term: term.text };
    }
  }
  if (counts.ipv4 > MAX_VOID_LOOKUPS || counts.ipv6 > MAX_VOID_LOOKUPS) {
    const families = (['ipv4', 'ipv6'] as const)
      .filter((family) => counts[family] > MAX_VOID_LOOKUPS)
      .map((family) => `${counts[family]} for ${family === 'ipv4' ? 'IPv4' : 'IPv6'} senders`);
    findings.push(
      spfFindings.too_many_void_lookups.make(
        domain,
        `${domain} causes ${families.join(' and ')} void lookups (limit ${MAX_VOID_LOOKUPS}).`,
        {
          ...counts,
          limit: MAX_VOID_LOOKUPS,
          exceededAt,
          terms: cap(terms),
        },
      ),
    );
  }
  return counts;
}

/** Follows root -> redirect -> ... to the record whose "all" (or lack of one) ends the policy. */
function policyFindings(domain: string, tree: SpfNode, findings: Finding[]): SpfFacts['policyAll'] {
  let node: SpfNode | undefined = tree;
  while (node && node.status === 'ok') {
    const all = firstAll(node);
    if (all?.qualifier) {
      if (all.qualifier === '?') {
        findings.push(
          spfFindings.neutral_all.make(
            domain,
            `The SPF policy of ${domain} ends in "${all.text}" (at ${node.domain}).`,
            { term: all.text, record: clip(node.record), at: node.domain },
          ),
        );
      } else if (all.qualifier === '~') {
        findings.push(
          spfFindings.softfail_all.make(
            domain,
            `The SPF policy of ${domain} ends in "${all.text}" (at ${node.domain}).`,
            { term: all.text, record: clip(node.record), at: node.domain },
          ),
        );
      }
      return { qualifier: all.qualifier, domain: node.domain };
    }
    const redirect: SpfTermView | undefined = node.terms.find(
      (term) => term.name === 'redirect' && term.reachable,
    );
    if (!redirect) {
      findings.push(
        spfFindings.no_all.make(
          domain,
          `The SPF policy of ${domain} ends without "all" or redirect (at ${node.domain}); unmatched senders get neutral.`,
          { record: clip(node.record), at: node.domain },
        ),
      );
      return undefined;
    }
    node = redirect.childIndex === undefined ? undefined : node.children[redirect.childIndex];
  }
  return undefined;
}

/** RFC 7208 §6.2: checks exp= targets on the policy chain; these lookups never make the result unknown. */
async function expFindings(resolver: Resolver, tree: SpfNode, findings: Finding[]): Promise<void> {
  let node: SpfNode | undefined = tree;
  while (node && node.status === 'ok') {
    const exp = node.terms.find((term) => term.name === 'exp');
    if (exp?.target !== undefined) {
      const problem = await expProblem(resolver, exp.target);
      if (problem) {
        findings.push(
          spfFindings.exp_problem.make(
            node.domain,
            `exp= of ${node.domain} (${exp.target}) cannot be used: ${problem}.`,
            { term: exp.text, target: exp.target, problem },
          ),
        );
      }
    }
    const redirect: SpfTermView | undefined = node.terms.find(
      (term) => term.name === 'redirect' && term.reachable,
    );
    node = redirect?.childIndex === undefined ? undefined : node.children[redirect.childIndex];
  }
}

async function expProblem(resolver: Resolver, target: string): Promise<string | undefined> {
  const nameProblem = domainNameProblem(target);
  if (nameProblem) return `the target is not a valid name (${nameProblem})`;
  const answer = await resolver.query(target, 'TXT');
  if (answer.status === 'unknown') return undefined;
  if (answer.status !== 'answer') return `no TXT record (${answer.status.toUpperCase()})`;
  if (answer.records.length !== 1) return `${answer.records.length} TXT records, exactly one is needed`;
  const parsed = parseMacroString(joinTxt(answer.records[0] as string[]), 'explanation');
  return parsed.error
    ? `invalid explanation text at offset ${parsed.error.position}: ${parsed.error.message}`
    : undefined;
}

function macroFindings(domain: string, tree: SpfNode, findings: Finding[]): void {
  const uses = [...allNodes(tree)].flatMap((node) =>
    node.terms
      .filter((term) => term.usesMacros)
      .map((term) => ({ domain: node.domain, term: term.text, dynamic: term.dynamic })),
  );
  if (uses.length > 0) {
    findings.push(
      spfFindings.macros_used.make(
        domain,
        `The SPF policy of ${domain} uses macros in ${uses.length} term(s).`,
        { terms: cap(uses) },
      ),
    );
  }
}

export async function analyseSpf(domain: string, resolver: Resolver): Promise<CheckResult<SpfFacts>> {
  const name = stripTrailingDot(domain);
  const walk = createWalk(resolver, canonicalDomain(name));
  const tree = await visit(walk, name, 'root', undefined, undefined);
  await Promise.all(walk.pending);
  finishTotals(tree);
  const facts: SpfFacts = {
    domain: name,
    records: tree.records ?? [],
    tree,
    totalLookups: walk.lookups,
    lookupLimit: MAX_DNS_MECHANISMS,
    voidLookups: { ipv4: 0, ipv6: 0 },
    truncated: walk.truncated,
    unknownLookups: walk.unknown,
  };
  if (tree.record !== undefined) facts.record = tree.record;
  const findings: Finding[] = [];
  if (walk.unknown.length > 0) {
    findings.push(
      spfFindings.lookup_unknown.make(
        name,
        `${walk.unknown.length} DNS lookup(s) for the SPF policy of ${name} did not answer.`,
        { lookups: cap(walk.unknown) },
      ),
    );
  }
  if (tree.status === 'none' || tree.status === 'invalid_name') {
    findings.push(
      spfFindings.missing.make(name, `${name} publishes no SPF record: ${tree.problem}.`, {
        problem: tree.problem,
      }),
    );
  }
  for (const node of allNodes(tree)) nodeFindings(node, findings);
  lookupFindings(name, tree, walk, findings);
  facts.voidLookups = voidFindings(name, tree, findings);
  const policyAll = policyFindings(name, tree, findings);
  if (policyAll) facts.policyAll = policyAll;
  await expFindings(resolver, tree, findings);
  macroFindings(name, tree, findings);
  return resultOf('spf', facts, findings, walk.unknown.length > 0);
}

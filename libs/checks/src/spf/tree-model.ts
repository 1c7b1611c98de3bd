/**
 * The shape of the SPF evaluation tree that analyseSpf() reports as facts, and its traversals.
 */
import type { DnsResult, RecordType, Resolver, UnknownReason } from '@mailwarden/core';
import type { Qualifier, SpfSyntaxError } from './parse.ts';

export type SpfNodeStatus =
  | 'ok'
  | 'none'
  | 'multiple'
  | 'syntax_error'
  | 'unknown'
  | 'loop'
  | 'invalid_name'
  | 'dynamic';

export interface FamilyCounts {
  ipv4: number;
  ipv6: number;
}

export interface SpfTermView {
  text: string;
  position: number;
  kind: 'mechanism' | 'modifier';
  name: string;
  qualifier?: Qualifier;
  /** One of the 10 DNS-querying terms (RFC 7208 §4.6.4). */
  countsAsLookup: boolean;
  /** Evaluated at all: false after the first "all", and for redirect beside "all" (§6.1). */
  reachable: boolean;
  /** 1-based position among lookup terms in evaluation order. */
  lookupNumber?: number;
  /** The name the term queries, when known without a connection. */
  target?: string;
  usesMacros: boolean;
  /** The target depends on the connection (macros other than %{d} and %{o}). */
  dynamic: boolean;
  /** The term's lookup found nothing, per client family (RFC 7208 §4.6.4 void lookup). */
  void?: { ipv4: boolean; ipv6: boolean };
  mxNames?: number;
  ip4Prefix?: number;
  ip6Prefix?: number;
  /** include / redirect: index of the node it leads to in `children`. */
  childIndex?: number;
}

export interface SpfNode {
  domain: string;
  via: 'root' | 'include' | 'redirect';
  /** The term of the parent that leads here. */
  term?: string;
  /** Domains from the root to this node. */
  path: string[];
  depth: number;
  status: SpfNodeStatus;
  problem?: string;
  record?: string;
  /** Every SPF record at the name when there are several. */
  records?: string[];
  /** Octets of each character-string of the SPF record. */
  stringOctets?: number[];
  /** RFC 7208 §3.4: the name plus the text of all TXT records at it, in octets. */
  answerOctets?: number;
  terms: SpfTermView[];
  /** Terms not kept in `terms` (see MAX_TERM_VIEWS); they are still counted. */
  omittedTerms?: number;
  /** The first syntax errors (RFC 7208 §4.6), and how many there are in all. */
  errors: SpfSyntaxError[];
  errorCount?: number;
  /** Lookup terms counted before this record is evaluated: where it sits in the chain. */
  lookupsBefore: number;
  ownLookups: number;
  cumulativeLookups: number;
  ownVoidLookups: FamilyCounts;
  cumulativeVoidLookups: FamilyCounts;
  children: SpfNode[];
}

export interface UnknownLookup {
  name: string;
  type: RecordType;
  reason: UnknownReason;
  node: string;
}

export interface LookupPosition {
  domain: string;
  path: string[];
  term: string;
  lookupNumber: number;
}

export interface Walk {
  resolver: Resolver;
  root: string;
  lookups: number;
  answers: Map<string, Promise<DnsResult<RecordType>>>;
  pending: Promise<void>[];
  unknown: UnknownLookup[];
  exceededAt?: LookupPosition;
  truncated: boolean;
}

export function* allNodes(node: SpfNode): Generator<SpfNode> {
  yield node;
  for (const child of node.children) yield* allNodes(child);
}

/** Evaluation order of reachable lookup terms, descending into includes and redirects. */
export function* evaluationOrder(node: SpfNode): Generator<{ node: SpfNode; term: SpfTermView }> {
  const redirect = node.terms.find((term) => term.name === 'redirect' && term.reachable);
  for (const term of node.terms) {
    if (!term.reachable || term === redirect || term.kind === 'modifier') continue;
    yield { node, term };
    const child = term.childIndex === undefined ? undefined : node.children[term.childIndex];
    if (child) yield* evaluationOrder(child);
  }
  if (redirect) {
    yield { node, term: redirect };
    const child = redirect.childIndex === undefined ? undefined : node.children[redirect.childIndex];
    if (child) yield* evaluationOrder(child);
  }
}

/** Fills the per-node totals once every scheduled lookup has answered. */
export function finishTotals(node: SpfNode): void {
  node.cumulativeLookups = node.ownLookups;
  for (const term of node.terms) {
    if (term.void?.ipv4) node.ownVoidLookups.ipv4++;
    if (term.void?.ipv6) node.ownVoidLookups.ipv6++;
  }
  node.cumulativeVoidLookups = { ...node.ownVoidLookups };
  for (const child of node.children) {
    finishTotals(child);
    node.cumulativeLookups += child.cumulativeLookups;
    node.cumulativeVoidLookups.ipv4 += child.cumulativeVoidLookups.ipv4;
    node.cumulativeVoidLookups.ipv6 += child.cumulativeVoidLookups.ipv6;
  }
}

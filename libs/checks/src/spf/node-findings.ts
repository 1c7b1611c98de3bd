/**
 * The findings one node of the SPF tree shows by itself: its status (loop, several records,
 * syntax error, missing target), its sizes and its terms.
 */
import type { Finding } from '../findings.ts';
import { spfFindings } from './findings.ts';
import { MAX_CHARACTER_STRING_OCTETS, MAX_MX_OR_PTR_NAMES, MAX_UDP_FRIENDLY_OCTETS } from './record.ts';
import type { SpfNode, SpfTermView } from './tree-model.ts';

/**
 * Prefixes shorter than these authorise more addresses than any one organisation sends from:
 * an IPv4 /16 is 65 536 addresses, an IPv6 /32 is a whole ISP-sized allocation (RIR minimum).
 */
export const MIN_SAFE_IPV4_PREFIX = 16;
export const MIN_SAFE_IPV6_PREFIX = 32;
/** Evidence is capped so a hostile record cannot grow a finding without bound. */
const MAX_EVIDENCE_ITEMS = 20;
const MAX_EVIDENCE_CHARS = 1024;

export const firstAll = (node: SpfNode) => node.terms.find((term) => term.name === 'all' && term.reachable);
export const cap = <T>(items: T[]) => items.slice(0, MAX_EVIDENCE_ITEMS);
export const clip = (text: string | undefined) =>
  text === undefined || text.length <= MAX_EVIDENCE_CHARS
    ? text
    : `${text.slice(0, MAX_EVIDENCE_CHARS)}… (+${text.length - MAX_EVIDENCE_CHARS} chars)`;

function statusFindings(node: SpfNode, findings: Finding[]): void {
  const where = { path: node.path, via: node.via, term: node.term };
  if (node.status === 'loop') {
    findings.push(
      spfFindings.include_loop.make(
        node.domain,
        `${node.via} "${node.term}" leads back into its own chain: ${node.path.join(' -> ')}.`,
        where,
      ),
    );
  } else if (node.status === 'multiple') {
    findings.push(
      spfFindings.multiple_records.make(
        node.domain,
        `${node.domain} publishes ${node.records?.length} SPF records.`,
        {
          records: node.records?.map(clip),
          ...where,
        },
      ),
    );
  } else if (node.status === 'syntax_error') {
    const first = node.errors[0];
    findings.push(
      spfFindings.syntax_error.make(
        node.domain,
        `The SPF record of ${node.domain} has a syntax error at offset ${first?.position} ("${first?.term}"): ${first?.message}.`,
        { record: clip(node.record), errors: node.errors, errorCount: node.errorCount, ...where },
      ),
    );
  } else if ((node.status === 'none' || node.status === 'invalid_name') && node.via !== 'root') {
    findings.push(
      spfFindings.include_missing.make(
        node.domain,
        `${node.via} target ${node.domain} has no usable SPF record: ${node.problem}.`,
        {
          target: node.domain,
          problem: node.problem,
          ...where,
        },
      ),
    );
  }
}

function sizeFindings(node: SpfNode, findings: Finding[]): void {
  const long = (node.stringOctets ?? [])
    .map((size, index) => ({ index, octets: size }))
    .filter((s) => s.octets > MAX_CHARACTER_STRING_OCTETS);
  if (long.length > 0) {
    findings.push(
      spfFindings.string_too_long.make(
        node.domain,
        `The SPF record of ${node.domain} has a character-string of ${long[0]?.octets} octets.`,
        {
          strings: long,
          limit: MAX_CHARACTER_STRING_OCTETS,
        },
      ),
    );
  }
  if ((node.answerOctets ?? 0) >= MAX_UDP_FRIENDLY_OCTETS) {
    findings.push(
      spfFindings.record_too_long.make(
        node.domain,
        `The name and TXT records of ${node.domain} take ${node.answerOctets} octets (guideline: under ${MAX_UDP_FRIENDLY_OCTETS}).`,
        { octets: node.answerOctets, limit: MAX_UDP_FRIENDLY_OCTETS, record: clip(node.record) },
      ),
    );
  }
}

function isTooBroad(term: SpfTermView): boolean {
  if (term.kind !== 'mechanism' || term.qualifier !== '+' || !term.reachable) return false;
  const v4 = term.name === 'ip6' ? undefined : term.ip4Prefix;
  const v6 = term.name === 'ip4' ? undefined : term.ip6Prefix;
  return (v4 !== undefined && v4 < MIN_SAFE_IPV4_PREFIX) || (v6 !== undefined && v6 < MIN_SAFE_IPV6_PREFIX);
}

function termFindings(node: SpfNode, findings: Finding[]): void {
  const all = firstAll(node);
  if (all?.qualifier === '+') {
    findings.push(
      spfFindings.pass_all.make(node.domain, `"${all.text}" in ${node.domain} lets every host pass.`, {
        term: all.text,
        path: node.path,
      }),
    );
  }
  const redirect = node.terms.find((term) => term.name === 'redirect');
  if (all && redirect) {
    findings.push(
      spfFindings.redirect_with_all.make(
        node.domain,
        `"${redirect.text}" in ${node.domain} is ignored because of "${all.text}".`,
        {
          redirect: redirect.text,
          all: all.text,
        },
      ),
    );
  }
  const ptr = node.terms.filter((term) => term.name === 'ptr' && term.kind === 'mechanism');
  if (ptr.length > 0) {
    findings.push(
      spfFindings.ptr_deprecated.make(node.domain, `${node.domain} uses "${ptr[0]?.text}".`, {
        terms: cap(ptr.map((t) => t.text)),
      }),
    );
  }
  const broad = node.terms.filter(isTooBroad);
  if (broad.length > 0) {
    findings.push(
      spfFindings.ip4_too_broad.make(
        node.domain,
        `"${broad[0]?.text}" in ${node.domain} authorises a very large range.`,
        {
          terms: cap(broad.map((t) => t.text)),
          minimumIpv4Prefix: MIN_SAFE_IPV4_PREFIX,
          minimumIpv6Prefix: MIN_SAFE_IPV6_PREFIX,
        },
      ),
    );
  }
  for (const term of node.terms) {
    if (term.mxNames !== undefined && term.mxNames > MAX_MX_OR_PTR_NAMES) {
      findings.push(
        spfFindings.too_many_mx_or_ptr_names.make(
          node.domain,
          `"${term.text}" in ${node.domain} has ${term.mxNames} MX names (limit ${MAX_MX_OR_PTR_NAMES}).`,
          {
            term: term.text,
            target: term.target,
            names: term.mxNames,
            limit: MAX_MX_OR_PTR_NAMES,
          },
        ),
      );
    }
  }
}

export function nodeFindings(node: SpfNode, findings: Finding[]): void {
  statusFindings(node, findings);
  sizeFindings(node, findings);
  termFindings(node, findings);
}

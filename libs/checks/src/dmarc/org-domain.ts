/**
 * The RFC 7489 Organizational Domain (§3.2): the registered domain per the Public Suffix List.
 *
 * The list comes from `tldts`, which bundles both sections of the PSL. We use the ICANN section
 * only (`allowPrivateDomains: false`, its default, set explicitly here): RFC 7489 §3.2 speaks of
 * public suffixes under which registrations happen, and the private section lists names like
 * `github.io` or `blogspot.com` whose owners never publish DMARC per customer — taking those would
 * make every `x.github.io` its own organisation and skip GitHub's record. Receivers disagree on
 * this (§3.2 leaves the list to the receiver), which is one reason RFC 9989 replaced the list by
 * the DNS Tree Walk; see discovery.ts, which reports both results.
 */
import { getDomain } from 'tldts';

const PSL_OPTIONS = { allowPrivateDomains: false, allowIcannDomains: true, extractHostname: false } as const;

/**
 * RFC 7489 §3.2 steps 1-3: the public suffix plus one label. A name that is itself a public suffix
 * (or has no registrable part) is its own Organizational Domain. `name` must be normalised.
 */
export function organizationalDomain(name: string): string {
  return getDomain(name, PSL_OPTIONS) ?? name;
}

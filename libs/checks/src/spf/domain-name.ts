/**
 * Domain names as SPF sees them. RFC 1035 §2.3.4: labels are at most 63 octets and a name at
 * most 255 octets on the wire, which is 253 characters in text form without the trailing dot.
 * Unlike host names, SPF target names may hold any visible character (RFC 7208 §7.1 allows
 * "a:foo:bar/baz.example.com"), so only lengths and empty labels are checked here.
 */
export const MAX_LABEL_LENGTH = 63; // RFC 1035 §2.3.4
export const MAX_DOMAIN_LENGTH = 253; // RFC 1035 §2.3.4 (255 wire octets)

export type DomainNameProblem = 'empty' | 'empty_label' | 'label_too_long' | 'too_long';

/** Removes one trailing dot: `example.com.` and `example.com` name the same node. */
export function stripTrailingDot(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/** Lower case, no trailing dot: the form used to compare names. */
export function canonicalDomain(name: string): string {
  return stripTrailingDot(name).toLowerCase();
}

/** Why `name` cannot be put into a DNS query, or undefined when it can. */
export function domainNameProblem(name: string): DomainNameProblem | undefined {
  const bare = stripTrailingDot(name);
  if (bare === '') return 'empty';
  if (bare.length > MAX_DOMAIN_LENGTH) return 'too_long';
  for (const label of bare.split('.')) {
    if (label === '') return 'empty_label';
    if (label.length > MAX_LABEL_LENGTH) return 'label_too_long';
  }
  return undefined;
}

/** True when `name` equals `parent` or lies below it (case-insensitive, trailing dots ignored). */
export function isWithinDomain(name: string, parent: string): boolean {
  const child = canonicalDomain(name);
  const base = canonicalDomain(parent);
  return child === base || child.endsWith(`.${base}`);
}

/**
 * Does a certificate name the MX host? RFC 6125 §6.4 as TLS clients apply it: dNSName entries of
 * subjectAltName, case-insensitive, trailing dot ignored; a wildcard only as the whole leftmost
 * label (`*.example.com` matches `mx.example.com`, not `a.mx.example.com` or `example.com`); the
 * subject CN only when there is no dNSName at all (§6.4.4). MTA-STS (RFC 8461 §4.2) and DANE-TA
 * (RFC 7672 §3.2.3) both judge the certificate against the MX host name.
 */

const canonical = (name: string) => name.toLowerCase().replace(/\.$/, '');

export function nameMatches(host: string, pattern: string): boolean {
  const h = canonical(host);
  const p = canonical(pattern);
  if (!p.startsWith('*.')) return h === p;
  const suffix = p.slice(1);
  // The wildcard must not stand for a public suffix-like single label: `*.com` matches nothing.
  if (!suffix.slice(1).includes('.')) return false;
  if (!h.endsWith(suffix)) return false;
  const label = h.slice(0, -suffix.length);
  return label.length > 0 && !label.includes('.');
}

export function certificateNamesHost(
  host: string,
  cert: { dnsNames: readonly string[]; commonName?: string | undefined },
): boolean {
  const names = cert.dnsNames.length > 0 ? cert.dnsNames : cert.commonName ? [cert.commonName] : [];
  return names.some((n) => nameMatches(host, n));
}

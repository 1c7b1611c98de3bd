/**
 * Domain names as the client keys and reports them: lower-case (DNS compares ASCII letters
 * case-insensitively, RFC 4343 §2), no trailing dot, the root written '.'.
 */

/** ASCII-only lower-casing: RFC 4343 §3 forbids folding anything but A-Z. */
export function asciiLower(name: string): string {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 65 && c <= 90) return name.replace(/[A-Z]+/g, (m) => m.toLowerCase());
  }
  return name;
}

/**
 * The normalised form of a name we are asked to query, or null when it cannot be sent:
 * RFC 1035 §2.3.4 (labels of 1-63 octets, at most 255 octets on the wire, so 253 characters
 * in text) and printable ASCII only — callers convert IDNs to A-labels (RFC 5891) first.
 */
export function normaliseQueryName(name: string): string | null {
  if (name === '.' || name === '') return '.';
  const text = name.endsWith('.') ? name.slice(0, -1) : name;
  if (text.length === 0 || text.length > 253) return null;
  let labelLength = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (labelLength === 0) return null;
      labelLength = 0;
      continue;
    }
    // Printable ASCII without space; underscores (_dmarc, _domainkey) and the like are allowed.
    if (c <= 32 || c >= 127) return null;
    if (++labelLength > 63) return null;
  }
  if (labelLength === 0) return null;
  return asciiLower(text);
}

/** A name decoded from a message (dns-packet returns '.' for the root), normalised for comparison. */
export function normaliseWireName(name: string): string {
  if (name === '.' || name === '') return '.';
  return asciiLower(name.endsWith('.') ? name.slice(0, -1) : name);
}

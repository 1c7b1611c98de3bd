/**
 * Name arithmetic the test signer and the test DNS server share: canonical order (RFC 4034 §6.1),
 * NSEC3 hashing (RFC 5155 §5) and base32hex (RFC 4648 §7). Written apart from the validator in
 * libs/checks on purpose, so a mistake in one is caught by the other.
 */
import { createHash } from 'node:crypto';

/** Lower-case, no trailing dot; the root is ''. */
export function canonical(name: string): string {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  return trimmed.toLowerCase();
}

export function labels(name: string): string[] {
  return name === '' ? [] : name.split('.');
}

export function parentOf(name: string): string | null {
  if (name === '') return null;
  const dot = name.indexOf('.');
  return dot === -1 ? '' : name.slice(dot + 1);
}

export function isWithin(name: string, apex: string): boolean {
  return apex === '' || name === apex || name.endsWith(`.${apex}`);
}

export function wireName(name: string): Buffer {
  const parts: Buffer[] = [];
  for (const label of labels(canonical(name))) {
    const bytes = Buffer.from(label, 'latin1');
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

export function compareCanonical(a: string, b: string): number {
  const la = labels(a);
  const lb = labels(b);
  const n = Math.min(la.length, lb.length);
  for (let i = 1; i <= n; i++) {
    const c = Buffer.compare(
      Buffer.from(la[la.length - i] as string, 'latin1'),
      Buffer.from(lb[lb.length - i] as string, 'latin1'),
    );
    if (c !== 0) return c;
  }
  return la.length - lb.length;
}

export function nsec3HashOf(name: string, salt: Uint8Array, iterations: number): Buffer {
  let h = createHash('sha1').update(wireName(name)).update(salt).digest();
  for (let i = 0; i < iterations; i++) h = createHash('sha1').update(h).update(salt).digest();
  return h;
}

const B32 = '0123456789abcdefghijklmnopqrstuv';

export function toBase32hex(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const b of bytes) {
    buffer = ((buffer << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += B32[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(buffer << (5 - bits)) & 31];
  return out;
}

export function fromBase32hex(text: string): Buffer {
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const ch of text.toLowerCase()) {
    buffer = ((buffer << 5) | B32.indexOf(ch)) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((buffer >> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

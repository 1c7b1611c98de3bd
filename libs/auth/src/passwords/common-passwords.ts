import { readFileSync } from 'node:fs';

/**
 * The bundled list of common and breached-style passwords (SP 800-63B-4 §3.1.1.2 asks verifiers to
 * refuse "passwords obtained from previous breach corpuses" and context-specific words). Entries
 * and candidates are compared in a canonical form: NFKC, lower case, no white space.
 */
export function canonicalPassword(password: string): string {
  return password.normalize('NFKC').toLowerCase().replace(/\s+/g, '');
}

const list: ReadonlySet<string> = new Set(
  readFileSync(new URL('./common-passwords.txt', import.meta.url), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map(canonicalPassword),
);

/**
 * True for a listed password, and for one that is nothing but a listed password repeated
 * (`passwordpassword…`) or a single character or short unit repeated (`abcabcabc…`).
 */
export function isCommonPassword(password: string): boolean {
  const canonical = canonicalPassword(password);
  if (list.has(canonical)) return true;
  for (let unit = 1; unit <= canonical.length / 2; unit++) {
    if (canonical.length % unit !== 0) continue;
    const head = canonical.slice(0, unit);
    if (head.repeat(canonical.length / unit) === canonical && (unit <= 4 || list.has(head))) return true;
  }
  return false;
}

export const commonPasswordCount = list.size;

import { createHash } from 'node:crypto';

/**
 * A finding's identity across runs: the same problem on the same subject is the same finding, even
 * when its message or evidence change (a lookup count going from 11 to 12 is still "too many").
 */
export function findingFingerprint(code: string, subject: string): string {
  return createHash('sha256')
    .update(code)
    .update('\0')
    .update(subject.toLowerCase())
    .digest('hex')
    .slice(0, 32);
}

/** Findings and facts for one DKIM key record. */
import type { Finding } from '../findings.ts';
import { clip } from '../shared/dns-name.ts';
import { dkimFindings as F } from './dkim-findings.ts';
import { type DkimKeyRecord, parseDkimKeyRecord, USABLE_HASH_ALGORITHMS } from './key-record.ts';
import { analysePublicKey, RSA_MAX_REQUIRED_BITS, RSA_MIN_BITS, RSA_RECOMMENDED_BITS } from './public-key.ts';

export interface DkimKeyFacts {
  record: string;
  keyType: string;
  /** RSA modulus length, 256 for Ed25519, null when the key could not be read or is revoked. */
  bits: number | null;
  keyFormat: 'spki' | 'pkcs1' | 'raw' | null;
  revoked: boolean;
  /** t=y */
  testing: boolean;
  /** t=s: the i= domain must equal d= (a hardening, not a problem). */
  strictIdentity: boolean;
  hashAlgorithms: string[] | null;
  services: string[] | null;
  /** False when verifiers would not use the key. */
  usable: boolean;
}

function hashFindings(subject: string, record: DkimKeyRecord, evidence: Record<string, unknown>): Finding[] {
  const h = record.hashAlgorithms;
  if (h === null || record.keyType !== 'rsa') return [];
  const usable = h.some((alg) => USABLE_HASH_ALGORITHMS.has(alg));
  if (h.includes('sha1') && !usable) {
    return [
      F.sha1_only.make(subject, `h=${h.join(':')} allows only SHA-1, which verifiers reject.`, evidence),
    ];
  }
  if (h.includes('sha1'))
    return [F.sha1_allowed.make(subject, `h=${h.join(':')} still allows SHA-1.`, evidence)];
  if (!usable) {
    return [
      F.syntax_error.make(
        subject,
        `h=${clip(h.join(':'), 80)} names no hash algorithm verifiers know.`,
        evidence,
      ),
    ];
  }
  return [];
}

/** Parses and judges one key record published at `subject` (`<selector>._domainkey.<domain>`). */
export function analyseKeyRecord(subject: string, raw: string): { facts: DkimKeyFacts; findings: Finding[] } {
  const record = parseDkimKeyRecord(raw);
  const evidence = { record: clip(raw) };
  const findings: Finding[] = [];
  const facts: DkimKeyFacts = {
    record: clip(raw),
    keyType: record.keyType,
    bits: null,
    keyFormat: null,
    revoked: record.publicKey === '',
    testing: record.flags.includes('y'),
    strictIdentity: record.flags.includes('s'),
    hashAlgorithms: record.hashAlgorithms,
    services: record.services,
    usable: record.usable,
  };
  for (const problem of record.problems) {
    if (problem.kind === 'syntax')
      findings.push(F.syntax_error.make(subject, `DKIM key record: ${problem.reason}.`, evidence));
    if (problem.kind === 'unknown_key_type') {
      findings.push(
        F.unknown_key_type.make(subject, `k=${problem.value} is not a DKIM key type.`, {
          ...evidence,
          k: problem.value,
        }),
      );
      facts.usable = false;
    }
    if (problem.kind === 'deprecated') {
      findings.push(
        F.deprecated_tag.make(subject, `${problem.tag}=${problem.value}: ${problem.reason}.`, evidence),
      );
    }
  }
  if (facts.revoked) {
    findings.push(F.key_revoked.make(subject, 'The key is revoked (empty p=).', evidence));
    facts.usable = false;
    return { facts, findings };
  }
  if (record.publicKey !== null && (record.keyType === 'rsa' || record.keyType === 'ed25519')) {
    const key = analysePublicKey(record.keyType, record.publicKey);
    if (!key.ok) {
      findings.push(F.syntax_error.make(subject, `DKIM key record: ${key.reason}.`, evidence));
      facts.usable = false;
    } else {
      facts.bits = key.bits;
      facts.keyFormat = key.format;
      const bitsEvidence = { ...evidence, bits: key.bits };
      if (key.keyType === 'rsa' && key.bits < RSA_MIN_BITS) {
        findings.push(
          F.key_too_short.make(
            subject,
            `The RSA key has ${key.bits} bits; verifiers reject keys under ${RSA_MIN_BITS}.`,
            bitsEvidence,
          ),
        );
        facts.usable = false;
      } else if (key.keyType === 'rsa' && key.bits < RSA_RECOMMENDED_BITS) {
        findings.push(
          F.key_weak.make(
            subject,
            `The RSA key has ${key.bits} bits; ${RSA_RECOMMENDED_BITS} is recommended.`,
            bitsEvidence,
          ),
        );
      } else if (key.keyType === 'rsa' && key.bits > RSA_MAX_REQUIRED_BITS) {
        findings.push(
          F.key_oversized.make(
            subject,
            `The RSA key has ${key.bits} bits; verifiers need only handle ${RSA_MAX_REQUIRED_BITS}.`,
            bitsEvidence,
          ),
        );
      }
    }
  }
  if (facts.testing)
    findings.push(F.testing_mode.make(subject, 'The key is flagged t=y (testing).', evidence));
  findings.push(...hashFindings(subject, record, evidence));
  if (record.services !== null && !record.services.some((s) => s === '*' || s === 'email')) {
    findings.push(
      F.service_not_email.make(
        subject,
        `s=${clip(record.services.join(':'), 80)} does not include email.`,
        evidence,
      ),
    );
    facts.usable = false;
  }
  return { facts, findings };
}

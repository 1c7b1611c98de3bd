/**
 * The BIMI evidence document at a= (a Verified Mark Certificate or Common Mark Certificate, served
 * as PEM). We only establish that it is there and holds certificates, and record what they say.
 *
 * Deliberately out of scope: chain validation to the BIMI Group's trusted roots, the logotype
 * extension (RFC 3709) and its hash of the SVG, mark type, revocation and expiry verdicts. The
 * facts carry the subject, issuer and validity so a later check can do these.
 */
import { X509Certificate } from 'node:crypto';

/** Our bound, not a spec's: a VMC chain with an embedded logo is tens of kilobytes. */
export const MAX_EVIDENCE_BYTES = 256 * 1024;
/** Certificates examined per document. */
export const MAX_CERTIFICATES = 10;

export interface EvidenceCertificate {
  subject: string;
  issuer: string;
  validFrom: string;
  validTo: string;
}

export interface EvidenceAnalysis {
  certificates: EvidenceCertificate[];
  /** Empty when the document is PEM with at least one parsable certificate. */
  problems: string[];
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;

export function analyseEvidence(bytes: Uint8Array): EvidenceAnalysis {
  const result: EvidenceAnalysis = { certificates: [], problems: [] };
  const text = new TextDecoder('utf-8').decode(bytes);
  const blocks = [...text.matchAll(PEM_BLOCK)];
  if (blocks.length === 0) {
    result.problems.push('the document holds no PEM "BEGIN CERTIFICATE" block');
    return result;
  }
  for (const [index, block] of blocks.slice(0, MAX_CERTIFICATES).entries()) {
    try {
      const certificate = new X509Certificate(block[0]);
      result.certificates.push({
        subject: certificate.subject.slice(0, 500),
        issuer: certificate.issuer.slice(0, 500),
        validFrom: certificate.validFrom,
        validTo: certificate.validTo,
      });
    } catch {
      result.problems.push(`PEM block ${index + 1} is not a valid X.509 certificate`);
    }
  }
  return result;
}

/**
 * Fetching and judging the two documents a BIMI record points to: the SVG logo (l=) and the
 * evidence document (a=). Transient fetch failures give `unknown`, never a verdict.
 */
import type { Finding } from '../findings.ts';
import { clip } from '../shared/dns-name.ts';
import { bimiFindings as F } from './bimi-findings.ts';
import { analyseEvidence, type EvidenceCertificate, MAX_EVIDENCE_BYTES } from './evidence.ts';
import { type FetchOutcome, type FetchResource, toOutcome } from './fetch.ts';
import { analyseSvg, MAX_SVG_BYTES } from './svg.ts';

/** The logo is fetched up to this size, so an oversized file is reported as such, not as unreachable. */
export const LOGO_FETCH_BYTES = MAX_SVG_BYTES * 4;

export interface LogoFacts {
  httpStatus: number;
  contentType: string | null;
  bytes: number;
  title: string | null;
  problems: string[];
}

export interface EvidenceFacts {
  httpStatus: number;
  certificates: EvidenceCertificate[];
  problems: string[];
}

export interface AssetOutcome<Facts> {
  facts: Facts | null;
  findings: Finding[];
  unknown: boolean;
}

type Purpose = 'bimi_logo' | 'bimi_evidence';

function failureFinding(
  outcome: Extract<FetchOutcome, { kind: 'failed' }>,
  uri: string,
  purpose: Purpose,
  subject: string,
): Finding {
  const evidence = { uri, reason: outcome.reason, httpStatus: outcome.httpStatus, detail: outcome.detail };
  const what = purpose === 'bimi_logo' ? 'logo' : 'evidence document';
  const words = `${outcome.reason}${outcome.httpStatus !== null ? ` ${outcome.httpStatus}` : ''}`;
  if (outcome.transient) {
    return F.lookup_unknown.make(subject, `Fetching the BIMI ${what} ${uri} failed (${words}).`, evidence);
  }
  if (purpose === 'bimi_logo' && outcome.reason === 'too_large') {
    return F.logo_invalid_svg.make(
      subject,
      `The BIMI logo at ${uri} is larger than ${LOGO_FETCH_BYTES} bytes.`,
      evidence,
    );
  }
  const code = purpose === 'bimi_logo' ? F.logo_unreachable : F.vmc_unreachable;
  return code.make(subject, `The BIMI ${what} ${uri} cannot be fetched (${words}).`, evidence);
}

async function fetchAsset(
  fetchResource: FetchResource,
  uri: string,
  purpose: Purpose,
): Promise<FetchOutcome> {
  const maxBytes = purpose === 'bimi_logo' ? LOGO_FETCH_BYTES : MAX_EVIDENCE_BYTES;
  return toOutcome(await fetchResource(uri, { maxBytes, purpose }));
}

export async function checkLogo(
  uri: string,
  fetchResource: FetchResource,
  subject: string,
): Promise<AssetOutcome<LogoFacts>> {
  if (!/^https:/i.test(uri)) {
    const finding = F.logo_not_https.make(subject, `l=${clip(uri, 120)} is not an https: URL.`, {
      uri: clip(uri, 256),
    });
    return { facts: null, findings: [finding], unknown: false };
  }
  const fetched = await fetchAsset(fetchResource, uri, 'bimi_logo');
  if (fetched.kind === 'failed') {
    return {
      facts: null,
      findings: [failureFinding(fetched, uri, 'bimi_logo', subject)],
      unknown: fetched.transient,
    };
  }
  const svg = analyseSvg(fetched.body, fetched.contentType);
  const facts: LogoFacts = {
    httpStatus: fetched.httpStatus,
    contentType: fetched.contentType,
    bytes: fetched.body.length,
    title: svg.title,
    problems: svg.problems,
  };
  if (svg.problems.length === 0) return { facts, findings: [], unknown: false };
  const more = svg.problems.length > 1 ? ` (and ${svg.problems.length - 1} more)` : '';
  const finding = F.logo_invalid_svg.make(
    subject,
    `The BIMI logo at ${uri} is not valid SVG Tiny PS: ${svg.problems[0]}${more}.`,
    {
      uri,
      problems: svg.problems,
      contentType: fetched.contentType,
      bytes: fetched.body.length,
    },
  );
  return { facts, findings: [finding], unknown: false };
}

export async function checkEvidence(
  uri: string,
  fetchResource: FetchResource,
  subject: string,
): Promise<AssetOutcome<EvidenceFacts>> {
  const fetched = await fetchAsset(fetchResource, uri, 'bimi_evidence');
  if (fetched.kind === 'failed') {
    return {
      facts: null,
      findings: [failureFinding(fetched, uri, 'bimi_evidence', subject)],
      unknown: fetched.transient,
    };
  }
  const analysis = analyseEvidence(fetched.body);
  const facts: EvidenceFacts = {
    httpStatus: fetched.httpStatus,
    certificates: analysis.certificates,
    problems: analysis.problems,
  };
  if (analysis.problems.length === 0) return { facts, findings: [], unknown: false };
  const finding = F.vmc_invalid.make(
    subject,
    `The BIMI evidence document at ${uri}: ${analysis.problems[0]}.`,
    {
      uri,
      problems: analysis.problems,
    },
  );
  return { facts, findings: [finding], unknown: false };
}

/**
 * The DNSSEC check: is the domain's zone, and the zone of each MX host, secure from the trust
 * anchors down (RFC 4035 §5)? For the domain the MX RRset (or its proven absence) is validated, for
 * each MX host its A RRset; the chains behind them say which zones are signed, with what, and how
 * long their signatures last.
 *
 * Status: `unknown` when a lookup could not be answered (an indeterminate verdict is never a
 * security verdict); proven findings are still listed.
 */
import type { Resolver } from '@mailwarden/core';
import { type CheckResult, type Finding, resultOf } from '../findings.ts';
import { clip, normalizeDnsName } from '../shared/dns-name.ts';
import { algorithmInfo, digestInfo } from './algorithms.ts';
import { NSEC3_MAX_ITERATIONS } from './denial.ts';
import { dnssecFindings as F } from './dnssec-findings.ts';
import type { TrustAnchor } from './trust-anchors.ts';
import {
  type AnswerVerdict,
  type BogusReason,
  type ChainLink,
  createDnssecValidator,
  type DnssecValidator,
  type InsecureProof,
  type Verdict,
} from './validator.ts';

/** Signatures expiring within this many days are reported. */
export const DEFAULT_SIGNATURE_EXPIRING_DAYS = 7;
/** No real domain has more MX hosts (the MX check's cap). */
export const MAX_DNSSEC_MX_HOSTS = 32;

export interface DnssecCheckOptions {
  /** MX hosts whose zones are checked too (from the MX check). */
  mxHosts?: readonly string[];
  /** Default: the IANA root anchors (or pass `validator`). */
  trustAnchors?: readonly TrustAnchor[];
  now?: () => Date;
  expiringDays?: number;
  /** A validator to share its key and signature caches across domains and checks. */
  validator?: DnssecValidator;
}

export interface DnssecLinkFacts {
  zone: string;
  parent: string | null;
  verdict: Verdict;
  reason?: BogusReason;
  insecureProof?: InsecureProof;
  detail?: string;
  algorithms: number[];
  dsDigestTypes: number[];
  keyTags: number[];
}

export interface DnssecSubjectFacts {
  name: string;
  role: 'domain' | 'mx';
  /** The RRset validated for the subject. */
  type: 'MX' | 'A';
  /** The zone holding the name (the deepest zone the chain reached). */
  zone: string;
  verdict: Verdict;
  reason?: BogusReason;
  insecureProof?: InsecureProof;
  detail?: string;
  chain: DnssecLinkFacts[];
  /** Earliest expiry among the signatures the verdict rests on (ISO 8601). */
  earliestSignatureExpiry?: string;
}

export interface DnssecZoneFacts {
  zone: string;
  algorithms: string[];
  /** How the zone denies existence, seen on a NODATA probe of its apex. */
  denial?: { via: 'nsec' | 'nsec3'; iterations?: number; saltLength?: number; optOut?: boolean };
}

export interface DnssecFacts {
  domain: string;
  subjects: DnssecSubjectFacts[];
  /** Secure zones met on the way, with their algorithms and denial parameters. */
  zones: DnssecZoneFacts[];
}

function linkFacts(link: ChainLink): DnssecLinkFacts {
  return {
    zone: link.zone,
    parent: link.parent,
    verdict: link.verdict,
    ...(link.reason ? { reason: link.reason } : {}),
    ...(link.insecureProof ? { insecureProof: link.insecureProof } : {}),
    ...(link.detail ? { detail: link.detail } : {}),
    algorithms: [...new Set(link.dnskeys.map((k) => k.algorithm))].sort((a, b) => a - b),
    dsDigestTypes: [...new Set(link.ds.map((d) => d.digestType))].sort((a, b) => a - b),
    keyTags: link.dnskeys.map((k) => k.keyTag),
  };
}

function subjectFacts(
  name: string,
  role: 'domain' | 'mx',
  type: 'MX' | 'A',
  v: AnswerVerdict,
): DnssecSubjectFacts {
  const earliest = v.verdict === 'secure' ? Math.min(...v.signatures.map((s) => s.expiration)) : Number.NaN;
  return {
    name,
    role,
    type,
    zone: v.chain?.zone ?? '.',
    verdict: v.verdict,
    ...(v.reason ? { reason: v.reason } : {}),
    ...(v.insecureProof ? { insecureProof: v.insecureProof } : {}),
    ...(v.detail ? { detail: v.detail } : {}),
    chain: (v.chain?.links ?? []).map(linkFacts),
    ...(Number.isFinite(earliest)
      ? { earliestSignatureExpiry: new Date(earliest * 1000).toISOString() }
      : {}),
  };
}

export async function checkDnssec(
  resolver: Resolver,
  domain: string,
  options: DnssecCheckOptions = {},
): Promise<CheckResult<DnssecFacts>> {
  const name = normalizeDnsName(domain);
  if (name === null) throw new RangeError(`checkDnssec: not a domain name: ${clip(domain, 80)}`);
  const now = options.now ?? (() => new Date());
  const validator =
    options.validator ??
    createDnssecValidator(resolver, {
      now,
      ...(options.trustAnchors ? { trustAnchors: options.trustAnchors } : {}),
    });
  const expiringSeconds = (options.expiringDays ?? DEFAULT_SIGNATURE_EXPIRING_DAYS) * 86_400;
  const hosts = [
    ...new Set(
      (options.mxHosts ?? []).map((h) => normalizeDnsName(h)).filter((h): h is string => h !== null),
    ),
  ]
    .filter((h) => h !== '')
    .slice(0, MAX_DNSSEC_MX_HOSTS);

  const asked = [
    { name, role: 'domain' as const, type: 'MX' as const },
    ...hosts.map((h) => ({ name: h, role: 'mx' as const, type: 'A' as const })),
  ];
  const verdicts = await Promise.all(
    asked.map(async (s) => ({ ...s, v: (await validator.query(s.name, s.type)).verdict })),
  );

  const findings: Finding[] = [];
  const seen = new Set<string>();
  const add = (f: Finding) => {
    const key = `${f.code}|${f.subject}`;
    if (seen.has(key)) return;
    seen.add(key);
    findings.push(f);
  };
  let unknown = false;
  const secureLinks = new Map<string, ChainLink>();
  const nowSeconds = Math.floor(now().getTime() / 1000);

  for (const { name: subject, type, v } of verdicts) {
    for (const link of v.chain?.links ?? []) if (link.verdict === 'secure') secureLinks.set(link.zone, link);
    const zone = v.chain?.zone ?? '.';
    switch (v.verdict) {
      case 'indeterminate':
        unknown = true;
        add(
          F.lookup_unknown.make(
            subject,
            `DNSSEC for ${subject} could not be evaluated: ${v.detail ?? 'no answer'}.`,
            { name: subject, type, detail: v.detail ?? null },
          ),
        );
        break;
      case 'bogus':
        add(
          F.bogus.make(
            subject,
            `DNSSEC validation of ${type} ${subject} fails: ${v.reason ?? 'bogus'}${v.detail ? ` (${v.detail})` : ''}.`,
            {
              name: subject,
              type,
              zone,
              reason: v.reason ?? null,
              detail: v.detail ?? null,
              chain: (v.chain?.links ?? []).map(
                (l) => `${l.zone}: ${l.verdict}${l.reason ? ` (${l.reason})` : ''}`,
              ),
            },
          ),
        );
        break;
      case 'insecure': {
        const evidence = { name: subject, zone, proof: v.insecureProof ?? null, detail: v.detail ?? null };
        if (v.insecureProof === 'unsupported_ds_algorithms') {
          add(
            F.unsupported_algorithm.make(
              zone,
              `${zone} is signed only with algorithms that cannot be validated; it counts as unsigned.`,
              evidence,
            ),
          );
        } else if (v.insecureProof === 'nsec3_iterations_over_cap') {
          add(
            F.nsec3_iterations.make(
              zone,
              `${zone} uses more than ${NSEC3_MAX_ITERATIONS} NSEC3 iterations; validators treat its denials as unsigned.`,
              evidence,
            ),
          );
        } else {
          add(
            F.unsigned.make(
              zone,
              `${zone} (holding ${subject}) is not signed: ${v.detail ?? v.insecureProof ?? 'no DS at the parent'}.`,
              evidence,
            ),
          );
        }
        break;
      }
      case 'secure': {
        const soonest = [...v.signatures].sort((a, b) => a.expiration - b.expiration)[0];
        if (soonest && soonest.expiration - nowSeconds < expiringSeconds) {
          const days = Math.max(0, (soonest.expiration - nowSeconds) / 86_400);
          add(
            F.signature_expiring.make(
              soonest.signer,
              `The RRSIG over ${soonest.owner} ${soonest.type} expires in ${days.toFixed(1)} days.`,
              {
                owner: soonest.owner,
                type: soonest.type,
                signer: soonest.signer,
                keyTag: soonest.keyTag,
                expiration: new Date(soonest.expiration * 1000).toISOString(),
                thresholdDays: expiringSeconds / 86_400,
              },
            ),
          );
        }
        break;
      }
    }
  }

  for (const link of secureLinks.values()) {
    const weakAlgorithms = [...new Set(link.dnskeys.map((k) => k.algorithm))].filter(
      (a) => algorithmInfo(a).status === 'weak',
    );
    const weakDigests = [...new Set(link.ds.map((d) => d.digestType))].filter(
      (d) => digestInfo(d).status === 'weak',
    );
    if (weakAlgorithms.length > 0 || weakDigests.length > 0) {
      const what = [
        ...weakAlgorithms.map((a) => `algorithm ${a} (${algorithmInfo(a).mnemonic})`),
        ...weakDigests.map((d) => `DS digest type ${d} (${digestInfo(d).mnemonic})`),
      ];
      add(
        F.weak_algorithm.make(link.zone, `${link.zone} uses ${what.join(' and ')}.`, {
          zone: link.zone,
          algorithms: weakAlgorithms,
          digestTypes: weakDigests,
        }),
      );
    }
  }

  // A NODATA probe of each secure zone's apex shows its denial parameters (RFC 9276 §3.1).
  const zoneNames = [
    ...new Set(
      verdicts.filter((s) => s.v.verdict === 'secure' && s.v.chain).map((s) => s.v.chain?.zone as string),
    ),
  ];
  const zones: DnssecZoneFacts[] = await Promise.all(
    zoneNames.map(async (zone) => {
      const link = secureLinks.get(zone);
      const algorithms = [...new Set(link?.dnskeys.map((k) => algorithmInfo(k.algorithm).mnemonic) ?? [])];
      const probe = await validator.query(zone === '.' ? '.' : zone, 'TLSA');
      const d = probe.verdict.denial;
      if (!d) return { zone, algorithms };
      const denial = {
        via: d.via,
        ...(d.nsec3
          ? { iterations: d.nsec3.iterations, saltLength: d.nsec3.saltLength, optOut: d.nsec3.optOut }
          : {}),
      };
      if (d.nsec3 && (d.nsec3.iterations > 0 || d.nsec3.saltLength > 0)) {
        add(
          F.nsec3_iterations.make(
            zone,
            `${zone} uses NSEC3 with ${d.nsec3.iterations} extra iterations and a ${d.nsec3.saltLength}-octet salt.`,
            {
              zone,
              iterations: d.nsec3.iterations,
              saltLength: d.nsec3.saltLength,
              overValidatorCap: d.nsec3.iterations > NSEC3_MAX_ITERATIONS,
            },
          ),
        );
      }
      return { zone, algorithms, denial };
    }),
  );

  const facts: DnssecFacts = {
    domain: name,
    subjects: verdicts.map((s) => subjectFacts(s.name, s.role, s.type, s.v)),
    zones,
  };
  return resultOf('dnssec', facts, findings, unknown);
}

/**
 * What a NOERROR/NXDOMAIN response says about one question: records, a proven absence
 * (RFC 2308), or "follow this CNAME target and ask again". The answer section is read only along
 * the CNAME chain from the question name (RFC 1034 §4.3.2); unrelated records are ignored
 * (RFC 2181 §5.4.1).
 */
import type { RecordType, UnknownReason, WireRecord } from '@mailwarden/core';
import { decodeRecord, wireSections } from './rdata.ts';
import { type ParsedMessage, TYPE_CODES, type WireRr } from './wire.ts';

export interface ChainLink {
  name: string;
  ttl: number;
}

export type Step =
  | { kind: 'answer'; records: unknown[]; ttl: number; chain: ChainLink[] }
  /** `ttl` null: no SOA came with it, so it must not be cached (RFC 2308 §5). */
  | { kind: 'negative'; status: 'nxdomain' | 'nodata'; ttl: number | null; chain: ChainLink[] }
  /** The chain ended at `target` with neither records nor a negative proof: query the target. */
  | { kind: 'chase'; target: string; chain: ChainLink[] }
  | { kind: 'unknown'; reason: UnknownReason; detail: string };

export interface InterpretLimits {
  maxCnameChain: number;
  maxTxtBytes: number;
}

const CLASS_IN = 1;
const RCODE_NXDOMAIN = 3;
const FLAG_AA = 0x0400;

function isAncestorOrSelf(ancestor: string, name: string): boolean {
  return ancestor === '.' || name === ancestor || name.endsWith(`.${ancestor}`);
}

/** RFC 2308 §5: a negative answer lives min(SOA TTL, SOA MINIMUM) seconds. */
function negativeTtl(message: ParsedMessage, name: string): number | null {
  for (const rr of message.authority) {
    if (rr.type !== TYPE_CODES.SOA || rr.klass !== CLASS_IN || !isAncestorOrSelf(rr.name, name)) continue;
    const soa = decodeRecord(message.buf, rr, 'SOA');
    return Math.min(rr.ttl, soa.minimum);
  }
  return null;
}

/**
 * `visited` holds every name already in the chain (the original question first); it is shared
 * across re-queries so a loop spread over several responses is caught too.
 */
export function interpret(
  message: ParsedMessage,
  qname: string,
  type: RecordType,
  visited: Set<string>,
  limits: InterpretLimits,
): Step {
  const qtype = TYPE_CODES[type];
  const chain: ChainLink[] = [];
  let current = qname;
  try {
    for (;;) {
      const found: WireRr[] = [];
      let cname: WireRr | undefined;
      for (const rr of message.answer) {
        if (rr.klass !== CLASS_IN || rr.name !== current) continue;
        if (rr.type === qtype) found.push(rr);
        else if (rr.type === TYPE_CODES.CNAME && cname === undefined) cname = rr;
      }
      if (found.length > 0) {
        if (type === 'TXT') {
          let bytes = 0;
          for (const rr of found) bytes += rr.rdLength;
          if (bytes > limits.maxTxtBytes) {
            return {
              kind: 'unknown',
              reason: 'too_large',
              detail: `${bytes} bytes of TXT (cap ${limits.maxTxtBytes})`,
            };
          }
        }
        let ttl = Number.POSITIVE_INFINITY;
        const records = found.map((rr) => {
          ttl = Math.min(ttl, rr.ttl);
          return decodeRecord(message.buf, rr, type);
        });
        return { kind: 'answer', records, ttl, chain };
      }
      if (!cname || type === 'CNAME') break;
      const target = decodeRecord(message.buf, cname, 'CNAME');
      if (visited.has(target)) {
        return { kind: 'unknown', reason: 'cname_loop', detail: `${current} -> ${target} loops` };
      }
      if (visited.size > limits.maxCnameChain) {
        return { kind: 'unknown', reason: 'cname_loop', detail: `more than ${limits.maxCnameChain} CNAMEs` };
      }
      visited.add(target);
      chain.push({ name: target, ttl: cname.ttl });
      current = target;
    }
    // RFC 6604 §3: with a chain, the RCODE speaks about its last name.
    const ttl = negativeTtl(message, current);
    if (message.rcode === RCODE_NXDOMAIN) return { kind: 'negative', status: 'nxdomain', ttl, chain };
    if (chain.length > 0 && ttl === null) return { kind: 'chase', target: current, chain };
    if (
      ttl === null &&
      (message.flags & FLAG_AA) === 0 &&
      message.authority.some((rr) => rr.type === TYPE_CODES.NS)
    ) {
      // A referral: the upstream is not recursive, or lame. Not a proof of anything.
      return {
        kind: 'unknown',
        reason: 'servfail',
        detail: 'referral instead of an answer (upstream not recursive?)',
      };
    }
    return { kind: 'negative', status: 'nodata', ttl, chain };
  } catch (err) {
    return { kind: 'unknown', reason: 'malformed', detail: (err as Error).message };
  }
}

/**
 * All answer and authority records, for the DNSSEC validator (RFC 4035 §3.1), or what made one of
 * them unreadable.
 */
export function sectionsOf(
  message: ParsedMessage,
): { answer: WireRecord[]; authority: WireRecord[] } | string {
  try {
    return wireSections(message.buf, message.answer, message.authority);
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * SMTP hygiene of one probed address: what the greeting discloses (software and version), AUTH
 * before STARTTLS, VRFY/EXPN, the open-relay test, and whether the greeting's host name matches
 * the address's PTR and resolves back to it.
 */
import type { Resolver } from '@mailwarden/core';
import type { Finding } from '../findings.ts';
import { addressKey, reverseName } from '../mx/reverse-name.ts';
import type { MxProbeAddressFacts } from './mx-probe-types.ts';
import type { ProbedAddress } from './probe-input.ts';
import { smtpFindings as S } from './smtp-findings.ts';

/**
 * Known MTA products and a version after them. A product without a version number is recorded as a
 * fact but is no finding: "ESMTP Postfix" tells an attacker little.
 */
const SOFTWARE =
  /\b(postfix|exim|sendmail|qmail|haraka|opensmtpd|microsoft esmtp mail service|exchange server|zimbra|communigate pro|mdaemon|kerio connect|axigen|icewarp|halon|courier|hmailserver|mailenable|imail|surgemail|smtpd)\b(?:[^\d\r\n]{0,24}?(?:version[:\s]*)?v?(\d+(?:\.\d+)+[a-z0-9-]*))?/i;
const GENERIC_VERSION = /\bversion[:\s]+(\d+(?:\.\d+)+)/i;

export function softwareInBanner(text: string): { product: string; version?: string } | undefined {
  const m = SOFTWARE.exec(text);
  if (m) return { product: (m[1] as string).toLowerCase(), ...(m[2] ? { version: m[2] } : {}) };
  const g = GENERIC_VERSION.exec(text);
  return g ? { product: 'unknown', version: g[1] as string } : undefined;
}

/** RFC 5321 §4.3.1: `220 <domain> <text>`; the domain is the first word. */
export function bannerHostOf(banner: string | undefined): string | undefined {
  const first = banner?.trim().split(/\s+/)[0]?.toLowerCase().replace(/\.$/, '');
  return first && /^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/.test(first) ? first : undefined;
}

/** Host names compare lower-case, without the trailing root dot. */
export const canonical = (name: string) => name.toLowerCase().replace(/\.$/, '');

async function reverseDnsOf(
  resolver: Resolver,
  address: string,
  family: 4 | 6,
  bannerHost: string,
): Promise<{ ptr: string[]; bannerHostConfirmed: boolean | 'unknown' }> {
  const name = reverseName(address);
  const key = addressKey(address);
  if (!name || !key) return { ptr: [], bannerHostConfirmed: false };
  const ptr = await resolver.query(name, 'PTR');
  if (ptr.status === 'unknown') return { ptr: [], bannerHostConfirmed: 'unknown' };
  const names = ptr.status === 'answer' ? ptr.records.map(canonical).slice(0, 10) : [];
  if (!names.includes(bannerHost)) return { ptr: names, bannerHostConfirmed: false };
  const forward = await resolver.query(bannerHost, family === 4 ? 'A' : 'AAAA');
  if (forward.status === 'unknown') return { ptr: names, bannerHostConfirmed: 'unknown' };
  const confirmed = forward.status === 'answer' && forward.records.some((r) => addressKey(r) === key);
  return { ptr: names, bannerHostConfirmed: confirmed };
}

export function smtpHygiene(
  subject: string,
  probe: ProbedAddress,
  facts: MxProbeAddressFacts,
  findings: Finding[],
): void {
  const bannerText = probe.banner?.lines.join(' ') ?? '';
  const software = softwareInBanner(bannerText);
  if (software) facts.software = software;
  if (software?.version) {
    findings.push(
      S.version_disclosed.make(subject, `The greeting discloses ${software.product} ${software.version}.`, {
        banner: probe.banner?.lines[0] ?? '',
        product: software.product,
        version: software.version,
      }),
    );
  }
  const auth = probe.ehlo?.keywords.AUTH;
  if (auth !== undefined) {
    facts.authBeforeTls = auth;
    findings.push(
      S.auth_before_starttls.make(subject, `AUTH ${auth.join(' ')} is offered before STARTTLS.`, {
        mechanisms: auth,
        starttls: probe.starttls?.outcome ?? 'not_offered',
      }),
    );
  }
  if (probe.vrfy) {
    facts.vrfy = probe.vrfy.code;
    // RFC 5321 §3.5.3: 250/251 confirm the mailbox; 252 is the non-committal answer.
    if (probe.vrfy.code === 250 || probe.vrfy.code === 251) {
      findings.push(
        S.vrfy_enabled.make(
          subject,
          `VRFY postmaster answered ${probe.vrfy.code} ${probe.vrfy.lines[0] ?? ''}.`,
          {
            command: 'VRFY postmaster',
            reply: probe.vrfy,
          },
        ),
      );
    }
  }
  if (probe.expn) {
    facts.expn = probe.expn.code;
    if (probe.expn.code === 250) {
      findings.push(
        S.expn_enabled.make(
          subject,
          `EXPN postmaster answered ${probe.expn.code} ${probe.expn.lines[0] ?? ''}.`,
          {
            command: 'EXPN postmaster',
            reply: probe.expn,
          },
        ),
      );
    }
  }
  if (probe.relay) {
    facts.relay = {
      recipient: probe.relay.recipient,
      accepted: probe.relay.accepted,
      ...(probe.relay.rcptTo ? { rcptCode: probe.relay.rcptTo.code } : {}),
    };
    if (probe.relay.accepted) {
      findings.push(
        S.open_relay.make(
          subject,
          `RCPT TO:<${probe.relay.recipient}> from an unauthenticated client was accepted.`,
          {
            sender: probe.relay.sender,
            recipient: probe.relay.recipient,
            mailFrom: probe.relay.mailFrom,
            rcptTo: probe.relay.rcptTo,
          },
        ),
      );
    }
  }
}

/** The banner host against PTR and forward-confirmed reverse DNS (needs a resolver). */
export async function bannerHostFindings(
  subject: string,
  resolver: Resolver,
  probe: ProbedAddress,
  bannerHost: string,
  facts: MxProbeAddressFacts,
  findings: Finding[],
): Promise<void> {
  facts.reverseDns = await reverseDnsOf(resolver, probe.address, probe.family, bannerHost);
  if (facts.reverseDns.bannerHostConfirmed === false) {
    findings.push(
      S.banner_hostname_mismatch.make(
        subject,
        facts.reverseDns.ptr.includes(bannerHost)
          ? `The greeting names ${bannerHost}, which is the PTR name of ${probe.address} but does not resolve back to it.`
          : `The greeting names ${bannerHost}; the PTR of ${probe.address} is ${facts.reverseDns.ptr.join(', ') || 'absent'}.`,
        { bannerHost, ptr: facts.reverseDns.ptr },
      ),
    );
  }
}

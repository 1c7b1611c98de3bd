/**
 * TEST HELPER: the DNS of a well-configured domain, in the flat shape the zone resolver takes
 * (`name -> records`), for the scan tests here and the end-to-end tests that serve it from the
 * loopback DNS server. Every check passes on it: MX with forward-confirmed reverse DNS, SPF with
 * an include and -all, DMARC p=reject with internal reports, a 2048-bit DKIM key, MTA-STS in
 * enforce mode covering the MX, TLS-RPT, and BIMI with an SVG Tiny PS logo.
 */
import type { MxData } from '@mailwarden/core';
import { rsaKeyBase64 } from '../dkim/test-keys.test-helper.ts';

export interface FixtureNodeFlat {
  A?: string[];
  AAAA?: string[];
  MX?: MxData[];
  TXT?: string[];
  PTR?: string[];
  CNAME?: string[];
}
export type FlatZone = Record<string, FixtureNodeFlat>;

export const DKIM_SELECTOR = 'mw1';
/** Shared by every fixture domain, as a mail provider's include is. */
export const PROVIDER_INCLUDE = '_spf.provider.example';
const DKIM_KEY = rsaKeyBase64(2048);

export const GOOD_SVG = [
  '<svg version="1.2" baseProfile="tiny-ps" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">',
  '<title>Fixture Brand</title>',
  '<rect width="64" height="64" fill="#1d4ed8"/><circle cx="32" cy="32" r="20" fill="#ffffff"/>',
  '</svg>',
].join('');

export function policyText(mxPatterns: readonly string[], mode = 'enforce'): string {
  return [
    'version: STSv1',
    `mode: ${mode}`,
    ...mxPatterns.map((p) => `mx: ${p}`),
    'max_age: 1209600',
    '',
  ].join('\n');
}

/** `4.3.2.1.in-addr.arpa` for 1.2.3.4. */
export function reverseV4(address: string): string {
  return `${address.split('.').reverse().join('.')}.in-addr.arpa`;
}

export interface GoodDomainOptions {
  /** Address of the MX host (gets a PTR back to it). */
  mxAddress: string;
  /** Address of mta-sts.<domain>. */
  policyAddress: string;
  /** The BIMI logo URL. */
  logoUrl: string;
}

export function goodDomainZone(domain: string, o: GoodDomainOptions): FlatZone {
  const mx = `mx1.${domain}`;
  return {
    [domain]: {
      MX: [{ preference: 10, exchange: mx }],
      TXT: [`v=spf1 mx include:${PROVIDER_INCLUDE} -all`],
    },
    [mx]: { A: [o.mxAddress] },
    [reverseV4(o.mxAddress)]: { PTR: [mx] },
    [PROVIDER_INCLUDE]: { TXT: ['v=spf1 ip4:198.51.100.0/24 -all'] },
    [`_dmarc.${domain}`]: { TXT: [`v=DMARC1; p=reject; rua=mailto:dmarc@${domain}`] },
    [`${DKIM_SELECTOR}._domainkey.${domain}`]: { TXT: [`v=DKIM1; k=rsa; p=${DKIM_KEY}`] },
    [`_mta-sts.${domain}`]: { TXT: ['v=STSv1; id=20260101'] },
    [`mta-sts.${domain}`]: { A: [o.policyAddress] },
    [`_smtp._tls.${domain}`]: { TXT: [`v=TLSRPTv1; rua=mailto:tlsrpt@${domain}`] },
    [`default._bimi.${domain}`]: { TXT: [`v=BIMI1; l=${o.logoUrl}`] },
  };
}

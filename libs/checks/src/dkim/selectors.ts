/**
 * DKIM selectors: which ones to try for a domain, and which strings can be selectors at all.
 *
 * A domain's selectors cannot be listed from the DNS; we try the ones we were given (tenant
 * configuration, later the selectors seen in DMARC aggregate reports) and, unless told not to,
 * the common ones below. Not finding a key under a guessed selector proves nothing; the RFC 8020
 * probe of `_domainkey.<domain>` (see dkim.ts) is what can prove there are none.
 */
import { normalizeDnsName } from '../shared/dns-name.ts';

/**
 * Selectors published by widespread mail platforms, with the platform that uses each. Kept short:
 * every entry costs one query per domain per scan.
 */
export const COMMON_DKIM_SELECTORS: readonly string[] = [
  'google', // Google Workspace
  'selector1', // Microsoft 365
  'selector2', // Microsoft 365
  'k1', // Mailchimp / Mandrill
  'k2', // Mailchimp / Mandrill
  'k3', // Mailchimp / Mandrill
  's1', // SendGrid, many others
  's2', // SendGrid, many others
  'default', // cPanel, Plesk, many self-hosted setups
  'dkim', // generic
  'mail', // generic
  'smtp', // generic
  'mx', // generic
  'fm1', // Fastmail
  'fm2', // Fastmail
  'fm3', // Fastmail
  'protonmail', // Proton Mail
  'protonmail2', // Proton Mail
  'protonmail3', // Proton Mail
  'zoho', // Zoho Mail
  'sig1', // iCloud custom domains
  'mandrill', // Mandrill (older setups)
  'everlytickey1', // Everlytic
  'mxvault', // MXroute
  'dkim1', // generic
];

/** Hostile or misconfigured input (thousands of selectors learnt from reports) is capped here. */
export const MAX_SELECTORS_PER_DOMAIN = 64;

/**
 * RFC 6376 §3.1: selector = sub-domain *( "." sub-domain ). Returns the normalised selector, or
 * null when it cannot be one (empty, bad characters, labels too long).
 */
export function normalizeSelector(selector: string): string | null {
  return normalizeDnsName(selector);
}

export interface SelectorPlan {
  selector: string;
  source: 'given' | 'common';
}

/**
 * Given selectors first (deduplicated, case-insensitively), then the common ones, up to the cap.
 * Invalid given selectors are returned apart so the check can report them.
 */
export function planSelectors(
  given: readonly string[],
  includeCommon: boolean,
): { plan: SelectorPlan[]; invalid: string[]; dropped: number } {
  const plan: SelectorPlan[] = [];
  const invalid: string[] = [];
  const seen = new Set<string>();
  let dropped = 0;
  const add = (selector: string, source: SelectorPlan['source']) => {
    if (seen.has(selector)) return;
    seen.add(selector);
    if (plan.length >= MAX_SELECTORS_PER_DOMAIN) {
      dropped++;
      return;
    }
    plan.push({ selector, source });
  };
  for (const raw of given) {
    const selector = normalizeSelector(raw);
    if (selector === null) invalid.push(raw);
    else add(selector, 'given');
  }
  if (includeCommon) for (const selector of COMMON_DKIM_SELECTORS) add(selector, 'common');
  return { plan, invalid, dropped };
}

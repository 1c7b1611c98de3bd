/**
 * Which webhook URLs Mailwarden will call. Checked twice (DESIGN.md house rule 16): when an
 * endpoint is saved (`validateWebhookUrl`, which resolves and SSRF-vets the host now) and again on
 * every send (`deliverWebhook` vets the addresses it dials; DNS may have changed since).
 *
 * Scheme policy: `https:` always. `http:` only when every address the host resolves to was opened
 * by the operator's PROBE_ALLOW_CIDRS allow-list (a lab or test receiver on a private range), or
 * when the caller passes `allowHttp` explicitly (an operator setting, off by default). There is no
 * branch on NODE_ENV: production simply has no allow-list, so http cannot reach anything there.
 * Plain http to the public internet would expose event contents to every network on the way; the
 * signature only protects integrity.
 *
 * Other rules: no user info in the URL (credentials would end up in logs and lists), at most
 * `MAX_WEBHOOK_URL_LENGTH` characters, the fragment is dropped (it is never sent anyway).
 */
import { AppError } from '@mailwarden/core';
import { type AllowList, resolveAndVet, type VetOptions } from '@mailwarden/net';
import { displayTarget } from '../events/alert-events.ts';

export const MAX_WEBHOOK_URL_LENGTH = 2_048;

export type WebhookUrlRefusal =
  | 'invalid_url'
  | 'insecure_scheme'
  | 'invalid_host'
  | 'ssrf_refused'
  | 'dns_unknown'
  | 'dns_no_address';

export interface WebhookUrlPolicy {
  resolver: VetOptions['resolver'];
  /** PROBE_ALLOW_CIDRS. */
  allow: AllowList;
  /** Permit `http:` to any vetted address (operator opt-in; default false). */
  allowHttp?: boolean;
}

export interface ParsedWebhookUrl {
  url: URL;
  scheme: 'http' | 'https';
  /** Host without IPv6 brackets. */
  host: string;
  port: number;
}

export type ParseWebhookUrlResult = { ok: true; parsed: ParsedWebhookUrl } | { ok: false; detail: string };

/** Lexical checks only (no DNS). */
export function parseWebhookUrl(raw: string): ParseWebhookUrlResult {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) {
    return { ok: false, detail: `longer than ${MAX_WEBHOOK_URL_LENGTH} characters` };
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, detail: 'not a URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { ok: false, detail: `scheme ${url.protocol} is not http: or https:` };
  }
  if (url.username !== '' || url.password !== '') {
    return { ok: false, detail: 'credentials in the URL are refused' };
  }
  if (url.hostname === '') return { ok: false, detail: 'no host' };
  url.hash = '';
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  const port = url.port === '' ? (scheme === 'https' ? 443 : 80) : Number(url.port);
  return { ok: true, parsed: { url, scheme, host: url.hostname.replace(/^\[|\]$/g, ''), port } };
}

export type WebhookUrlCheck =
  | {
      ok: true;
      /** The URL to store (normalized by WHATWG URL, fragment dropped). */
      url: string;
      /** For lists and logs: scheme and host only (a Slack URL's path is a credential). */
      displayTarget: string;
      /** The addresses the host resolved to now, all vetted. */
      addresses: string[];
    }
  | {
      ok: false;
      reason: WebhookUrlRefusal;
      detail: string;
      /** True for `dns_unknown`: the answer may be different in a minute; nothing is proven. */
      retryable: boolean;
    };

/**
 * Whether `http:` may be used to reach these vetted addresses under the policy: only with the
 * explicit opt-in or when every address was opened by the allow-list.
 */
export function httpPermitted(
  addresses: readonly { allowedBy?: string }[],
  policy: WebhookUrlPolicy,
): boolean {
  return (
    policy.allowHttp === true || (addresses.length > 0 && addresses.every((a) => a.allowedBy !== undefined))
  );
}

/** Save-time check: lexical rules, then resolve and SSRF-vet the host through the guard in libs/net. */
export async function validateWebhookUrl(raw: string, policy: WebhookUrlPolicy): Promise<WebhookUrlCheck> {
  const parsed = parseWebhookUrl(raw);
  if (!parsed.ok) return { ok: false, reason: 'invalid_url', detail: parsed.detail, retryable: false };
  const { url, scheme, host } = parsed.parsed;
  const vet = await resolveAndVet(host, { resolver: policy.resolver, allow: policy.allow });
  if (!vet.ok) {
    return { ok: false, reason: vet.reason, detail: vet.detail, retryable: vet.reason === 'dns_unknown' };
  }
  if (scheme === 'http' && !httpPermitted(vet.addresses, policy)) {
    return {
      ok: false,
      reason: 'insecure_scheme',
      detail: 'webhook URLs must use https:',
      retryable: false,
    };
  }
  const href = url.toString();
  return {
    ok: true,
    url: href,
    displayTarget: displayTarget(href),
    addresses: vet.addresses.map((a) => a.address),
  };
}

/** The API's answer to a refused URL: a 400 `validation_failed` naming the field. */
export function webhookUrlError(
  refusal: Extract<WebhookUrlCheck, { ok: false }>,
  location = 'body.url',
): AppError {
  const message = `webhook URL refused (${refusal.reason}): ${refusal.detail}`;
  return new AppError('validation_failed', {
    detail: message,
    errors: [{ location, message }],
    extensions: { reason: refusal.reason, retryable: refusal.retryable },
  });
}

/**
 * The name of a sending address, for report analytics: its PTR (RFC 1035 §3.5, RFC 3596 §2.5),
 * confirmed forward (the name's A or AAAA holds the address: RFC 8601 §3 iprev), and the service
 * that name belongs to. Unknown DNS (timeout, SERVFAIL) stays `unknown` so a cache can retry it
 * soon, and a name that does not point back is shown but never used to name a provider.
 */
import type { Resolver } from '@mailwarden/core';
import { addressKey, reverseName } from '../mx/reverse-name.ts';
import { identifySender, type SendingProvider } from './sending-providers.ts';

/** PTR names followed forward per address; real hosts have one, a few have two. */
export const MAX_SENDER_PTR_NAMES = 3;

export interface SenderName {
  ip: string;
  /** `named`: a PTR answer; `no_ptr`: proven absent; `unknown`: DNS failed, try again later. */
  outcome: 'named' | 'no_ptr' | 'unknown';
  /** The forward-confirmed PTR name, else the first PTR name; lower case, no trailing dot. */
  ptr: string | null;
  forwardConfirmed: boolean;
  provider: SendingProvider | null;
}

const canonical = (name: string) => name.toLowerCase().replace(/\.$/, '');

export async function nameSender(resolver: Resolver, ip: string): Promise<SenderName> {
  const key = addressKey(ip);
  const name = reverseName(ip);
  const none: SenderName = { ip, outcome: 'no_ptr', ptr: null, forwardConfirmed: false, provider: null };
  if (!key || !name) return none;
  const ptr = await resolver.query(name, 'PTR');
  if (ptr.status === 'unknown') return { ...none, outcome: 'unknown' };
  if (ptr.status !== 'answer' || ptr.records.length === 0) return none;
  const names = [...new Set(ptr.records.map(canonical))].slice(0, MAX_SENDER_PTR_NAMES);
  const type = key.includes(':') ? 'AAAA' : 'A';
  let unknown = false;
  for (const target of names) {
    const forward = await resolver.query(target, type);
    if (forward.status === 'unknown') unknown = true;
    else if (forward.status === 'answer' && forward.records.some((r) => addressKey(r) === key)) {
      return {
        ip,
        outcome: 'named',
        ptr: target,
        forwardConfirmed: true,
        provider: identifySender(target) ?? null,
      };
    }
  }
  // Not confirmed: shown as a hint, never trusted for a provider name. An unknown forward lookup
  // makes the whole answer unknown, so a cache asks again soon rather than keeping a false "no".
  return {
    ip,
    outcome: unknown ? 'unknown' : 'named',
    ptr: names[0] ?? null,
    forwardConfirmed: false,
    provider: null,
  };
}

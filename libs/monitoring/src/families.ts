import type { CheckFamily } from '@mailwarden/db';

/**
 * How often each check family runs unless the domain says otherwise. Passive DNS checks are cheap
 * and catch most regressions; SMTP probes touch other people's servers, so they run less often.
 */
export const defaultIntervalSeconds: Readonly<Record<CheckFamily, number>> = {
  dns: 60 * 60,
  dnssec: 6 * 60 * 60,
  tls: 6 * 60 * 60,
  blocklist: 2 * 60 * 60,
};

/** The shortest interval a tenant may ask for (the schema refuses < 60 s too). */
export const minIntervalSeconds = 5 * 60;
export const maxIntervalSeconds = 7 * 24 * 60 * 60;

/** ±10 %: domains added together spread out instead of all falling due in the same tick. */
export const jitterFraction = 0.1;

export function nextRunAt(now: Date, intervalSeconds: number, random: () => number = Math.random): Date {
  const jitter = (random() * 2 - 1) * jitterFraction * intervalSeconds;
  return new Date(now.getTime() + Math.round((intervalSeconds + jitter) * 1000));
}

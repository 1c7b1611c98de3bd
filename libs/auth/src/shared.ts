import type { Database, Tx } from '@mailwarden/db';

/** A repository method runs on whatever its service hands it: the pool or an open transaction. */
export type Executor = Database | Tx;

/** Where a request came from, for audit events, sessions and per-IP limits. */
export interface RequestMeta {
  ip: string;
  userAgent: string | null;
}

/** Postgres unique_violation, however deep drizzle wrapped it. */
export function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: string }).code === '23505') return true;
  }
  return false;
}

/** E-mail addresses are matched case-insensitively (users_email_lower_key) and kept as typed. */
export function normalizeEmail(email: string): string {
  return email.trim().normalize('NFC');
}

export const SECONDS_PER_DAY = 86_400;

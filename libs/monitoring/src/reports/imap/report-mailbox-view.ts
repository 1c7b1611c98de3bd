/**
 * What the API shows of a report mailbox: the settings, never a secret (only whether one is set),
 * and the state of its polls as one status word.
 */
import { encodeId } from '@mailwarden/core';
import type { MailboxAfterStore, MailboxAuthKind, MailboxSecurity, ReportMailboxRow } from '@mailwarden/db';

/** After this many failed polls in a row a mailbox shows `failing` (docs/reports.md "IMAP intake"). */
export const failingAfterConsecutiveFailures = 5;

export type ReportMailboxStatus = 'disabled' | 'pending' | 'ok' | 'retrying' | 'failing';

export interface ReportMailboxView {
  id: string;
  host: string;
  port: number;
  security: MailboxSecurity;
  username: string;
  auth: MailboxAuthKind;
  /** A password is set (`password` mailboxes); the password itself is never returned. */
  hasPassword: boolean;
  /** `oauth2`: the token endpoint, the client and the scopes; null for `password`. */
  tokenUrl: string | null;
  clientId: string | null;
  scope: string | null;
  /** A client secret is set (never returned); false for a public client and `password`. */
  hasClientSecret: boolean;
  /** A refresh token is set (never returned); true for every `oauth2` mailbox. */
  hasRefreshToken: boolean;
  folder: string;
  afterStore: MailboxAfterStore;
  moveTo: string;
  enabled: boolean;
  description: string;
  /** `pending`: never polled; `retrying`: the last polls failed; `failing`: at least 5 in a row. */
  status: ReportMailboxStatus;
  lastPolledAt: string | null;
  lastSuccessAt: string | null;
  lastError: { code: string; detail: string | null } | null;
  consecutiveFailures: number;
  lastStoredCount: number;
  lastSkippedCount: number;
  nextPollAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export function mailboxStatus(
  row: Pick<ReportMailboxRow, 'enabled' | 'lastPolledAt' | 'consecutiveFailures'>,
): ReportMailboxStatus {
  if (!row.enabled) return 'disabled';
  if (row.consecutiveFailures >= failingAfterConsecutiveFailures) return 'failing';
  if (row.consecutiveFailures > 0) return 'retrying';
  return row.lastPolledAt ? 'ok' : 'pending';
}

export function reportMailboxView(row: ReportMailboxRow): ReportMailboxView {
  return {
    id: encodeId('mbx', row.id),
    host: row.host,
    port: row.port,
    security: row.security,
    username: row.username,
    auth: row.auth,
    hasPassword: row.passwordCiphertext !== null,
    tokenUrl: row.oauthTokenUrl,
    clientId: row.oauthClientId,
    scope: row.oauthScope,
    hasClientSecret: row.oauthClientSecretCiphertext !== null,
    hasRefreshToken: row.oauthRefreshTokenCiphertext !== null,
    folder: row.folder,
    afterStore: row.afterStore,
    moveTo: row.moveTo,
    enabled: row.enabled,
    description: row.description,
    status: mailboxStatus(row),
    lastPolledAt: row.lastPolledAt?.toISOString() ?? null,
    lastSuccessAt: row.lastSuccessAt?.toISOString() ?? null,
    lastError: row.lastErrorCode ? { code: row.lastErrorCode, detail: row.lastErrorDetail } : null,
    consecutiveFailures: row.consecutiveFailures,
    lastStoredCount: row.lastStoredCount,
    lastSkippedCount: row.lastSkippedCount,
    nextPollAt: row.enabled ? row.nextPollAt.toISOString() : null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

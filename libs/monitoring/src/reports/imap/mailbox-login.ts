/**
 * What a mailbox logs in with: its password, or for `oauth2` an access token (SASL OAUTHBEARER,
 * RFC 7628, or XOAUTH2) from the tenant's token endpoint (oauth-token.ts), cached per mailbox in
 * this process until shortly before it expires, else got with the refresh-token grant (RFC 6749
 * §6) through the SSRF guard. Kept apart from the IMAP session because it is where the sealed
 * secrets are opened; a secret that does not open is an outcome, never a throw.
 */
import type { Logger, SecretBox } from '@mailwarden/core';
import type { ReportMailboxRow } from '@mailwarden/db';
import { type MailboxError, mailboxError } from './imap-errors.ts';
import type { Login, SessionOutcome } from './mailbox-session.ts';
import type { OAuthTokenSource } from './oauth-token.ts';
import {
  mailboxClientSecretContext,
  mailboxPasswordContext,
  mailboxRefreshTokenContext,
} from './report-mailboxes.service.ts';

/** The outcome of a poll that never got to log in. */
export function failedBeforeLogin(error: MailboxError): SessionOutcome {
  return { stored: 0, duplicates: 0, skippedTooLarge: 0, more: false, error };
}

export function createMailboxLogins(options: {
  box: SecretBox;
  tokens: Pick<OAuthTokenSource, 'accessToken'>;
}) {
  const { box, tokens } = options;

  function openSecret(sealed: string | null, context: string): string | undefined {
    if (!sealed) return undefined;
    try {
      return box.open(sealed, context).toString('utf8');
    } catch {
      return undefined;
    }
  }

  return {
    /** The password login of a `password` mailbox. */
    password(row: ReportMailboxRow): { ok: true; login: Login } | { ok: false; error: MailboxError } {
      const password = openSecret(row.passwordCiphertext, mailboxPasswordContext(row.id));
      if (!password)
        return {
          ok: false,
          error: mailboxError(
            'imap.secret_unreadable',
            'the password does not open with the current keys; set it again',
          ),
        };
      return { ok: true, login: { user: row.username, pass: password } };
    },

    /**
     * The access token of an `oauth2` mailbox: from the cache, or refreshed (`refresh` skips the
     * cache). A rotated refresh token comes back sealed, for the caller to store.
     */
    async oauth(
      row: ReportMailboxRow,
      refresh: boolean,
      log: Logger,
    ): Promise<
      | { ok: true; login: Login; cached: boolean; rotatedCiphertext?: string }
      | { ok: false; error: MailboxError; rotatedCiphertext?: undefined }
    > {
      const refreshToken = openSecret(row.oauthRefreshTokenCiphertext, mailboxRefreshTokenContext(row.id));
      const clientSecret = row.oauthClientSecretCiphertext
        ? openSecret(row.oauthClientSecretCiphertext, mailboxClientSecretContext(row.id))
        : '';
      if (!refreshToken || clientSecret === undefined || !row.oauthTokenUrl || !row.oauthClientId)
        return {
          ok: false,
          error: mailboxError(
            'imap.secret_unreadable',
            'the OAuth refresh token or client secret does not open with the current keys; set them again',
          ),
        };
      // Any change to the mailbox's settings (a new refresh token among them) bumps updated_at.
      const version = [
        row.updatedAt.getTime(),
        row.oauthTokenUrl,
        row.oauthClientId,
        row.oauthScope ?? '',
        row.username,
      ].join('\n');
      const got = await tokens.accessToken(
        row.id,
        version,
        {
          tokenUrl: row.oauthTokenUrl,
          clientId: row.oauthClientId,
          ...(row.oauthClientSecretCiphertext ? { clientSecret } : {}),
          refreshToken,
          ...(row.oauthScope ? { scope: row.oauthScope } : {}),
        },
        refresh,
      );
      if (!got.ok) return got;
      if (!got.cached)
        log.debug(
          { rotated: got.rotatedRefreshToken !== undefined },
          'report mailbox access token refreshed',
        );
      return {
        ok: true,
        login: { user: row.username, accessToken: got.accessToken },
        cached: got.cached,
        ...(got.rotatedRefreshToken
          ? { rotatedCiphertext: box.seal(got.rotatedRefreshToken, mailboxRefreshTokenContext(row.id)) }
          : {}),
      };
    },
  };
}

-- IMAP intake with OAuth 2.0 (docs/reports.md "IMAP intake"): a report mailbox logs in with a
-- password or with an access token (SASL OAUTHBEARER, RFC 7628, or XOAUTH2) the worker gets from the
-- tenant's token endpoint with the refresh-token grant (RFC 6749 §6). The client secret and the
-- refresh token are SecretBox-sealed like the password, each under a context of its own; access
-- tokens are never stored. The check keeps each kind complete and drops the other kind's secrets,
-- so a mailbox switched to OAuth keeps no password, and back. The table's RLS (FORCE, the tenant
-- policy, the scheduler's read door of migration 0011) covers the new columns as they are.
ALTER TABLE "report_mailboxes" ALTER COLUMN "password_ciphertext" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "report_mailboxes" ADD COLUMN "auth" text DEFAULT 'password' NOT NULL;--> statement-breakpoint
ALTER TABLE "report_mailboxes" ADD COLUMN "oauth_token_url" text;--> statement-breakpoint
ALTER TABLE "report_mailboxes" ADD COLUMN "oauth_client_id" text;--> statement-breakpoint
ALTER TABLE "report_mailboxes" ADD COLUMN "oauth_client_secret_ciphertext" text;--> statement-breakpoint
ALTER TABLE "report_mailboxes" ADD COLUMN "oauth_refresh_token_ciphertext" text;--> statement-breakpoint
ALTER TABLE "report_mailboxes" ADD COLUMN "oauth_scope" text;--> statement-breakpoint
ALTER TABLE "report_mailboxes" ADD CONSTRAINT "report_mailboxes_auth" CHECK (("report_mailboxes"."auth" = 'password' and "report_mailboxes"."password_ciphertext" is not null
        and "report_mailboxes"."oauth_token_url" is null and "report_mailboxes"."oauth_client_id" is null
        and "report_mailboxes"."oauth_client_secret_ciphertext" is null and "report_mailboxes"."oauth_refresh_token_ciphertext" is null
        and "report_mailboxes"."oauth_scope" is null)
      or ("report_mailboxes"."auth" = 'oauth2' and "report_mailboxes"."password_ciphertext" is null
        and "report_mailboxes"."oauth_token_url" like 'https://%' and "report_mailboxes"."oauth_client_id" is not null
        and "report_mailboxes"."oauth_refresh_token_ciphertext" is not null));
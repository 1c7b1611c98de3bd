-- IMAP intake alerts (docs/reports.md "IMAP intake"): when `report_mailbox.failing` was raised for
-- the mailbox, null again once a poll succeeds and `report_mailbox.recovered` is raised. Apart from
-- consecutive_failures because a changed setting clears the streak, and the fix must still close
-- the alert. The event types themselves are text (no constraint to change).
ALTER TABLE "report_mailboxes" ADD COLUMN "failing_reported_at" timestamp with time zone;

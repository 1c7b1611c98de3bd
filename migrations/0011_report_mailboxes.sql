CREATE TABLE "report_mailboxes" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"host" text NOT NULL,
	"port" integer NOT NULL,
	"security" text NOT NULL,
	"username" text NOT NULL,
	"password_ciphertext" text NOT NULL,
	"folder" text DEFAULT 'INBOX' NOT NULL,
	"after_store" text DEFAULT 'move' NOT NULL,
	"move_to" text DEFAULT 'Mailwarden/Processed' NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"next_poll_at" timestamp with time zone DEFAULT now() NOT NULL,
	"lease_until" timestamp with time zone,
	"last_polled_at" timestamp with time zone,
	"last_success_at" timestamp with time zone,
	"last_error_code" text,
	"last_error_detail" text,
	"consecutive_failures" integer DEFAULT 0 NOT NULL,
	"last_stored_count" integer DEFAULT 0 NOT NULL,
	"last_skipped_count" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "report_mailboxes_port" CHECK ("report_mailboxes"."port" between 1 and 65535)
);
--> statement-breakpoint
ALTER TABLE "report_mailboxes" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "report_mailboxes" ADD CONSTRAINT "report_mailboxes_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "report_mailboxes_tenant_idx" ON "report_mailboxes" USING btree ("tenant_id","id");--> statement-breakpoint
CREATE INDEX "report_mailboxes_due_idx" ON "report_mailboxes" USING btree ("next_poll_at") WHERE "report_mailboxes"."enabled";--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "report_mailboxes" AS PERMISSIVE FOR ALL TO public USING ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::uuid) WITH CHECK ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::uuid);--> statement-breakpoint
-- drizzle-kit does not emit FORCE; without it the table owner would bypass the tenant policies.
ALTER TABLE "report_mailboxes" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
-- Decision 0004, one more door: the worker's IMAP tick lists the mailboxes due for a poll across
-- tenants. Ids only, never hosts, user names or sealed passwords; the poll itself runs in a
-- withTenant transaction of the mailbox's tenant.
CREATE POLICY "scheduler_read" ON "report_mailboxes" AS PERMISSIVE FOR SELECT TO mailwarden_scheduler USING (true);--> statement-breakpoint
CREATE FUNCTION mailwarden_due_report_mailboxes(p_now timestamptz, p_limit integer)
RETURNS TABLE (tenant_id uuid, mailbox_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  select m.tenant_id, m.id from report_mailboxes m
   where m.enabled and m.next_poll_at <= p_now
     and (m.lease_until is null or m.lease_until <= p_now)
   order by m.next_poll_at
   limit least(greatest(p_limit, 0), 10000)
$$;--> statement-breakpoint
REVOKE ALL ON FUNCTION mailwarden_due_report_mailboxes(timestamptz, integer) FROM PUBLIC;--> statement-breakpoint
GRANT EXECUTE ON FUNCTION mailwarden_due_report_mailboxes(timestamptz, integer) TO mailwarden_app;

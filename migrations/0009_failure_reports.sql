CREATE TABLE "failure_reports" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"raw_report_id" uuid NOT NULL,
	"source" text DEFAULT '' NOT NULL,
	"domain_id" uuid NOT NULL,
	"reported_domain" text NOT NULL,
	"feedback_type" text NOT NULL,
	"arrival_date" timestamp with time zone,
	"source_ip" "inet",
	"auth_failure" text,
	"delivery_result" text,
	"identity_alignment" text,
	"original_mail_from" text,
	"original_rcpt_to" text[] DEFAULT '{}'::text[] NOT NULL,
	"dkim_domain" text,
	"dkim_selector" text,
	"spf_dns" text,
	"authentication_results" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"headers" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"reporter" text,
	"user_agent" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "failure_reports" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "raw_reports" ADD COLUMN "holds_failure_reports" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "tenant_settings" ADD COLUMN "store_failure_reports" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "tenant_settings" ADD COLUMN "failure_report_retention_days" integer DEFAULT 30 NOT NULL;--> statement-breakpoint
ALTER TABLE "failure_reports" ADD CONSTRAINT "failure_reports_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "failure_reports" ADD CONSTRAINT "failure_reports_raw_report_id_raw_reports_id_fk" FOREIGN KEY ("raw_report_id") REFERENCES "public"."raw_reports"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "failure_reports" ADD CONSTRAINT "failure_reports_domain_id_domains_id_fk" FOREIGN KEY ("domain_id") REFERENCES "public"."domains"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "failure_reports_raw_source_key" ON "failure_reports" USING btree ("raw_report_id","source");--> statement-breakpoint
CREATE INDEX "failure_reports_tenant_domain_idx" ON "failure_reports" USING btree ("tenant_id","domain_id","id");--> statement-breakpoint
CREATE INDEX "failure_reports_tenant_id_idx" ON "failure_reports" USING btree ("tenant_id","id");--> statement-breakpoint
ALTER TABLE "tenant_settings" ADD CONSTRAINT "tenant_settings_failure_retention" CHECK ("tenant_settings"."failure_report_retention_days" between 1 and 90);--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "failure_reports" AS PERMISSIVE FOR ALL TO public USING ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::uuid) WITH CHECK ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::uuid);--> statement-breakpoint
-- drizzle-kit does not emit FORCE; without it the table owner would bypass the tenant policies.
ALTER TABLE "failure_reports" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
-- Retention for reports (decision 0004: the purge runs as mailwarden_scheduler through a definer
-- function). Deleting a raw report removes what was parsed from it (foreign keys cascade).
CREATE POLICY "scheduler_purge" ON "raw_reports" AS PERMISSIVE FOR DELETE TO mailwarden_scheduler USING (true);--> statement-breakpoint
-- The purge of 0005, plus: reports received longer ago than the tenant's retention_days, and inputs
-- that held a failure report after failure_report_retention_days (their bytes are a copy of
-- someone's message). Stored failure reports go with their input: the scheduler never reads them.
CREATE OR REPLACE FUNCTION mailwarden_purge_history(p_now timestamptz)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
declare
  removed bigint := 0;
  n bigint;
begin
  delete from check_runs r using tenants t left join tenant_settings ts on ts.tenant_id = t.id
   where r.tenant_id = t.id and r.started_at < p_now - make_interval(days => coalesce(ts.retention_days, 365));
  get diagnostics n = row_count; removed := removed + n;
  delete from posture_history p using tenants t left join tenant_settings ts on ts.tenant_id = t.id
   where p.tenant_id = t.id and p.recorded_at < p_now - make_interval(days => coalesce(ts.retention_days, 365));
  get diagnostics n = row_count; removed := removed + n;
  delete from findings f using tenants t left join tenant_settings ts on ts.tenant_id = t.id
   where f.tenant_id = t.id and f.state = 'resolved'
     and f.resolved_at < p_now - make_interval(days => coalesce(ts.retention_days, 365));
  get diagnostics n = row_count; removed := removed + n;
  delete from monitoring_events e using tenants t left join tenant_settings ts on ts.tenant_id = t.id
   where e.tenant_id = t.id and e.occurred_at < p_now - make_interval(days => coalesce(ts.retention_days, 365));
  get diagnostics n = row_count; removed := removed + n;
  delete from domains d using tenants t left join tenant_settings ts on ts.tenant_id = t.id
   where d.tenant_id = t.id and d.deleted_at < p_now - make_interval(days => coalesce(ts.retention_days, 365));
  get diagnostics n = row_count; removed := removed + n;
  delete from raw_reports r using tenants t left join tenant_settings ts on ts.tenant_id = t.id
   where r.tenant_id = t.id and r.parse_state <> 'pending'
     and (r.received_at < p_now - make_interval(days => coalesce(ts.retention_days, 365))
          or (r.holds_failure_reports
              and r.received_at < p_now - make_interval(days => coalesce(ts.failure_report_retention_days, 30))));
  get diagnostics n = row_count; removed := removed + n;
  return removed;
end
$$;

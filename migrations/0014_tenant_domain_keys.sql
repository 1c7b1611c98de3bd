-- One key from (tenant_id, domain_id) to the domain instead of one to tenants and one to domains
-- (libs/db/src/schema/domains.ts, tenantDomainKey): a row cannot name another tenant's domain, and
-- a sweep's inserts check one key per row instead of two.
ALTER TABLE "domain_schedules" DROP CONSTRAINT "domain_schedules_tenant_id_tenants_id_fk";
--> statement-breakpoint
ALTER TABLE "domain_schedules" DROP CONSTRAINT "domain_schedules_domain_id_domains_id_fk";
--> statement-breakpoint
ALTER TABLE "check_runs" DROP CONSTRAINT "check_runs_tenant_id_tenants_id_fk";
--> statement-breakpoint
ALTER TABLE "check_runs" DROP CONSTRAINT "check_runs_domain_id_domains_id_fk";
--> statement-breakpoint
ALTER TABLE "check_states" DROP CONSTRAINT "check_states_tenant_id_tenants_id_fk";
--> statement-breakpoint
ALTER TABLE "check_states" DROP CONSTRAINT "check_states_domain_id_domains_id_fk";
--> statement-breakpoint
ALTER TABLE "findings" DROP CONSTRAINT "findings_tenant_id_tenants_id_fk";
--> statement-breakpoint
ALTER TABLE "findings" DROP CONSTRAINT "findings_domain_id_domains_id_fk";
--> statement-breakpoint
ALTER TABLE "maintenance_windows" DROP CONSTRAINT "maintenance_windows_domain_id_domains_id_fk";
--> statement-breakpoint
ALTER TABLE "monitoring_events" DROP CONSTRAINT "monitoring_events_domain_id_domains_id_fk";
--> statement-breakpoint
ALTER TABLE "posture_history" DROP CONSTRAINT "posture_history_tenant_id_tenants_id_fk";
--> statement-breakpoint
ALTER TABLE "posture_history" DROP CONSTRAINT "posture_history_domain_id_domains_id_fk";
--> statement-breakpoint
ALTER TABLE "failure_reports" DROP CONSTRAINT "failure_reports_tenant_id_tenants_id_fk";
--> statement-breakpoint
ALTER TABLE "failure_reports" DROP CONSTRAINT "failure_reports_domain_id_domains_id_fk";
--> statement-breakpoint
-- The key the other tables now reference: (tenant_id, id) of a domain, unique (the id alone is).
DROP INDEX "domains_tenant_id_idx";--> statement-breakpoint
CREATE UNIQUE INDEX "domains_tenant_id_key" ON "domains" USING btree ("tenant_id","id");--> statement-breakpoint
ALTER TABLE "domain_schedules" ADD CONSTRAINT "domain_schedules_domain_fk" FOREIGN KEY ("tenant_id","domain_id") REFERENCES "public"."domains"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "check_runs" ADD CONSTRAINT "check_runs_domain_fk" FOREIGN KEY ("tenant_id","domain_id") REFERENCES "public"."domains"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "check_states" ADD CONSTRAINT "check_states_domain_fk" FOREIGN KEY ("tenant_id","domain_id") REFERENCES "public"."domains"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "findings" ADD CONSTRAINT "findings_domain_fk" FOREIGN KEY ("tenant_id","domain_id") REFERENCES "public"."domains"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "maintenance_windows" ADD CONSTRAINT "maintenance_windows_domain_fk" FOREIGN KEY ("tenant_id","domain_id") REFERENCES "public"."domains"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "monitoring_events" ADD CONSTRAINT "monitoring_events_domain_fk" FOREIGN KEY ("tenant_id","domain_id") REFERENCES "public"."domains"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "posture_history" ADD CONSTRAINT "posture_history_domain_fk" FOREIGN KEY ("tenant_id","domain_id") REFERENCES "public"."domains"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "failure_reports" ADD CONSTRAINT "failure_reports_domain_fk" FOREIGN KEY ("tenant_id","domain_id") REFERENCES "public"."domains"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
-- Room on each page for the rows a run rewrites ("seen again" findings, check states, a domain's
-- summary columns), so the update can be a HOT update: a new row version on the same page and no
-- new index entries. None of those updates changes an indexed column. Pages written from now on
-- keep the room; existing ones get it when the table is rewritten (VACUUM FULL, pg_repack).
ALTER TABLE "findings" SET (fillfactor = 75);--> statement-breakpoint
ALTER TABLE "check_states" SET (fillfactor = 75);--> statement-breakpoint
ALTER TABLE "domains" SET (fillfactor = 80);

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
--> statement-breakpoint
-- What is due, now with a keyset cursor: groups come in (earliest due time, name, family) order, and
-- a tick that remembers the last group it offered asks only for the groups after it, instead of
-- re-reading every group still queued (during a sweep, thousands per tick). Without the cursor
-- (p_after_slot null) it reads from the start, as before; the ticks do so at least once a minute,
-- which also finds a group that fell due behind the cursor (a schedule moved earlier). Names and
-- families compare byte-wise (collate "C"), as the tick compares them in JavaScript.
DROP FUNCTION mailwarden_due_checks(timestamptz, integer);--> statement-breakpoint
CREATE FUNCTION mailwarden_due_checks(p_now timestamptz, p_limit integer, p_after_slot timestamptz DEFAULT NULL,
                                      p_after_name text DEFAULT NULL, p_after_family text DEFAULT NULL)
RETURNS TABLE (tenant_id uuid, domain_id uuid, name text, family text, next_run_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  with due as (
    select d.name, s.family
      from domain_schedules s
      join domains d on d.id = s.domain_id
     where s.next_run_at <= p_now and d.deleted_at is null
       and (s.family <> 'tls' or d.verified_at is not null)
     group by d.name, s.family
    having p_after_slot is null
        or (min(s.next_run_at), d.name collate "C", s.family collate "C")
           > (p_after_slot, p_after_name collate "C", p_after_family collate "C")
     order by min(s.next_run_at), d.name collate "C", s.family collate "C"
     limit least(greatest(p_limit, 0), 50000)
  )
  select s.tenant_id, s.domain_id, d.name, s.family, s.next_run_at
    from due
    join domains d on d.name = due.name and d.deleted_at is null
    join domain_schedules s on s.domain_id = d.id and s.family = due.family
   where s.next_run_at <= p_now + make_interval(secs => s.interval_seconds / 2)
     and (s.family <> 'tls' or d.verified_at is not null)
$$;--> statement-breakpoint
REVOKE ALL ON FUNCTION mailwarden_due_checks(timestamptz, integer, timestamptz, text, text) FROM PUBLIC;--> statement-breakpoint
GRANT EXECUTE ON FUNCTION mailwarden_due_checks(timestamptz, integer, timestamptz, text, text) TO mailwarden_app;

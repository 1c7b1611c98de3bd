-- drizzle-kit does not emit FORCE; without it the table owner would bypass the tenant policies.
ALTER TABLE "check_runs" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "findings" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "check_states" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "posture_history" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "monitoring_events" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "maintenance_windows" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "webhook_endpoints" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "webhook_attempts" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
-- Attempts are a log: the app adds and reads them, never edits them.
REVOKE UPDATE ON "webhook_attempts" FROM mailwarden_app;--> statement-breakpoint
--
-- Decision 0004: the few reads across tenants that scheduling needs. The NOLOGIN role
-- mailwarden_scheduler (created by db setup; only the owner is a member) gets these policies, and the
-- SECURITY DEFINER functions below, owned by the owner, are the only way the app reaches them. They
-- return ids and domain names, never findings, settings or secrets.
CREATE POLICY "scheduler_read" ON "domains" AS PERMISSIVE FOR SELECT TO mailwarden_scheduler USING (true);--> statement-breakpoint
CREATE POLICY "scheduler_read" ON "domain_schedules" AS PERMISSIVE FOR SELECT TO mailwarden_scheduler USING (true);--> statement-breakpoint
CREATE POLICY "scheduler_read" ON "monitoring_events" AS PERMISSIVE FOR SELECT TO mailwarden_scheduler USING (true);--> statement-breakpoint
CREATE POLICY "scheduler_read" ON "webhook_deliveries" AS PERMISSIVE FOR SELECT TO mailwarden_scheduler USING (true);--> statement-breakpoint
CREATE POLICY "scheduler_read_retention" ON "tenant_settings" AS PERMISSIVE FOR SELECT TO mailwarden_scheduler USING (true);--> statement-breakpoint
CREATE POLICY "scheduler_read" ON "tenants" AS PERMISSIVE FOR SELECT TO mailwarden_scheduler USING (true);--> statement-breakpoint
CREATE POLICY "scheduler_read" ON "check_runs" AS PERMISSIVE FOR SELECT TO mailwarden_scheduler USING (true);--> statement-breakpoint
CREATE POLICY "scheduler_read" ON "findings" AS PERMISSIVE FOR SELECT TO mailwarden_scheduler USING (true);--> statement-breakpoint
CREATE POLICY "scheduler_read" ON "posture_history" AS PERMISSIVE FOR SELECT TO mailwarden_scheduler USING (true);--> statement-breakpoint
CREATE POLICY "scheduler_purge" ON "check_runs" AS PERMISSIVE FOR DELETE TO mailwarden_scheduler USING (true);--> statement-breakpoint
CREATE POLICY "scheduler_purge" ON "findings" AS PERMISSIVE FOR DELETE TO mailwarden_scheduler USING (state = 'resolved');--> statement-breakpoint
CREATE POLICY "scheduler_purge" ON "posture_history" AS PERMISSIVE FOR DELETE TO mailwarden_scheduler USING (true);--> statement-breakpoint
CREATE POLICY "scheduler_purge" ON "monitoring_events" AS PERMISSIVE FOR DELETE TO mailwarden_scheduler USING (true);--> statement-breakpoint
CREATE POLICY "scheduler_purge" ON "domains" AS PERMISSIVE FOR DELETE TO mailwarden_scheduler USING (deleted_at is not null);--> statement-breakpoint
--
-- What is due: each (domain name, family) with a schedule at or before p_now, and with it every
-- tenant's schedule of the same name and family that is due within half its interval, so a domain
-- watched by several tenants is checked once and the result fanned out (DESIGN.md §2.3). SMTP probes
-- (family tls) only for verified domains.
CREATE FUNCTION mailwarden_due_checks(p_now timestamptz, p_limit integer)
RETURNS TABLE (tenant_id uuid, domain_id uuid, name text, family text, next_run_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  with due as (
    select d.name, s.family
      from domain_schedules s
      join domains d on d.id = s.domain_id
     where s.next_run_at <= p_now and d.deleted_at is null
       and (s.family <> 'tls' or d.verified_at is not null)
     group by d.name, s.family
     order by min(s.next_run_at)
     limit least(greatest(p_limit, 0), 50000)
  )
  select s.tenant_id, s.domain_id, d.name, s.family, s.next_run_at
    from due
    join domains d on d.name = due.name and d.deleted_at is null
    join domain_schedules s on s.domain_id = d.id and s.family = due.family
   where s.next_run_at <= p_now + make_interval(secs => s.interval_seconds / 2)
     and (s.family <> 'tls' or d.verified_at is not null)
$$;--> statement-breakpoint
-- Events committed but not yet turned into deliveries (the enqueue after commit was lost).
CREATE FUNCTION mailwarden_pending_events(p_before timestamptz, p_limit integer)
RETURNS TABLE (tenant_id uuid, event_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  select e.tenant_id, e.id from monitoring_events e
   where e.dispatched_at is null and e.suppressed is null and e.occurred_at <= p_before
   order by e.occurred_at
   limit least(greatest(p_limit, 0), 10000)
$$;--> statement-breakpoint
-- Deliveries whose next attempt is due (their delayed job was lost with Redis).
CREATE FUNCTION mailwarden_due_deliveries(p_now timestamptz, p_limit integer)
RETURNS TABLE (tenant_id uuid, delivery_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  select w.tenant_id, w.id from webhook_deliveries w
   where w.state = 'pending' and w.next_attempt_at <= p_now
   order by w.next_attempt_at
   limit least(greatest(p_limit, 0), 10000)
$$;--> statement-breakpoint
-- Retention: removes history older than each tenant's retention_days (365 without settings), and
-- domains deleted longer ago than that, with everything that hangs off them.
CREATE FUNCTION mailwarden_purge_history(p_now timestamptz)
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
  return removed;
end
$$;--> statement-breakpoint
REVOKE ALL ON FUNCTION mailwarden_due_checks(timestamptz, integer) FROM PUBLIC;--> statement-breakpoint
REVOKE ALL ON FUNCTION mailwarden_pending_events(timestamptz, integer) FROM PUBLIC;--> statement-breakpoint
REVOKE ALL ON FUNCTION mailwarden_due_deliveries(timestamptz, integer) FROM PUBLIC;--> statement-breakpoint
REVOKE ALL ON FUNCTION mailwarden_purge_history(timestamptz) FROM PUBLIC;--> statement-breakpoint
GRANT EXECUTE ON FUNCTION mailwarden_due_checks(timestamptz, integer) TO mailwarden_app;--> statement-breakpoint
GRANT EXECUTE ON FUNCTION mailwarden_pending_events(timestamptz, integer) TO mailwarden_app;--> statement-breakpoint
GRANT EXECUTE ON FUNCTION mailwarden_due_deliveries(timestamptz, integer) TO mailwarden_app;--> statement-breakpoint
GRANT EXECUTE ON FUNCTION mailwarden_purge_history(timestamptz) TO mailwarden_app;

-- drizzle-kit does not emit FORCE; without it the table owner would bypass the tenant policies.
ALTER TABLE "raw_reports" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "dmarc_reports" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "dmarc_report_rows" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "tls_reports" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "tls_report_policies" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "report_addresses" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
--
-- Decision 0004, extended for reports: two more doors across tenants, each a SECURITY DEFINER
-- function owned by the owner that returns ids only.
CREATE POLICY "scheduler_read" ON "raw_reports" AS PERMISSIVE FOR SELECT TO mailwarden_scheduler USING (true);--> statement-breakpoint
CREATE POLICY "scheduler_read" ON "report_addresses" AS PERMISSIVE FOR SELECT TO mailwarden_scheduler USING (true);--> statement-breakpoint
-- Raw reports committed but still pending after p_before: their parse job was lost (a crash
-- between commit and enqueue, or Redis emptied). Ids only, never the bytes.
CREATE FUNCTION mailwarden_pending_raw_reports(p_before timestamptz, p_limit integer)
RETURNS TABLE (tenant_id uuid, raw_report_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  select r.tenant_id, r.id from raw_reports r
   where r.parse_state = 'pending' and r.received_at <= p_before
   order by r.received_at
   limit least(greatest(p_limit, 0), 10000)
$$;--> statement-breakpoint
-- The tenant of a report address token: the SMTP receiver asks at RCPT TO, before it knows a
-- tenant. One exact token in, one tenant id (or nothing) out: no listing, no prefix search.
CREATE FUNCTION mailwarden_report_address_tenant(p_token text)
RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  select a.tenant_id from report_addresses a where a.token = lower(p_token)
$$;--> statement-breakpoint
REVOKE ALL ON FUNCTION mailwarden_pending_raw_reports(timestamptz, integer) FROM PUBLIC;--> statement-breakpoint
REVOKE ALL ON FUNCTION mailwarden_report_address_tenant(text) FROM PUBLIC;--> statement-breakpoint
GRANT EXECUTE ON FUNCTION mailwarden_pending_raw_reports(timestamptz, integer) TO mailwarden_app;--> statement-breakpoint
GRANT EXECUTE ON FUNCTION mailwarden_report_address_tenant(text) TO mailwarden_app;

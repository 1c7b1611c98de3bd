-- Decision 0004, one more door: the daily digest job of every e-mail endpoint lives in Redis as a
-- job scheduler; if Redis is emptied, each worker re-registers them from this list (ids only).
CREATE POLICY "scheduler_read" ON "webhook_endpoints" AS PERMISSIVE FOR SELECT TO mailwarden_scheduler USING (true);--> statement-breakpoint
CREATE FUNCTION mailwarden_digest_endpoints(p_limit integer)
RETURNS TABLE (tenant_id uuid, endpoint_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  select e.tenant_id, e.id from webhook_endpoints e
   where e.format = 'email' and e.daily_digest and e.enabled
   order by e.id
   limit least(greatest(p_limit, 0), 100000)
$$;--> statement-breakpoint
REVOKE ALL ON FUNCTION mailwarden_digest_endpoints(integer) FROM PUBLIC;--> statement-breakpoint
GRANT EXECUTE ON FUNCTION mailwarden_digest_endpoints(integer) TO mailwarden_app;

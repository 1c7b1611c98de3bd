-- drizzle-kit does not emit FORCE; without it the table owner would bypass the tenant policies.
ALTER TABLE "tenant_settings" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "sessions" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "refresh_tokens" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "api_keys" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "invitations" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "audit_events" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
-- The audit log is append-only for the app: it may add and read events, never edit or remove them
-- (rows still go when their tenant is deleted: the FK cascade runs as the table owner).
REVOKE UPDATE, DELETE, TRUNCATE ON "audit_events" FROM mailwarden_app;

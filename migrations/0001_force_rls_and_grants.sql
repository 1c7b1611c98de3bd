-- RLS is bypassed by a table's owner unless FORCEd; drizzle-kit does not emit FORCE, so it lives here.
-- Every later migration that adds a table with tenant_id adds its FORCE line too
-- (test/rls-catalogue.test.ts fails otherwise).
ALTER TABLE "tenants" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "memberships" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "domains" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "domain_schedules" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
-- The apps connect as a login role that is a member of the group role mailwarden_app
-- (created by `npm run db:setup`). It may read and write rows, never change the schema.
GRANT USAGE ON SCHEMA public TO mailwarden_app;--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO mailwarden_app;--> statement-breakpoint
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO mailwarden_app;--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO mailwarden_app;--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO mailwarden_app;

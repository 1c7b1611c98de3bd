CREATE TABLE "dmarc_report_rows" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "dmarc_report_rows_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"tenant_id" uuid NOT NULL,
	"report_id" uuid NOT NULL,
	"domain_id" uuid,
	"day" date NOT NULL,
	"source_ip" "inet",
	"count" integer NOT NULL,
	"disposition" text,
	"dkim_evaluated" text,
	"spf_evaluated" text,
	"dkim_aligned" boolean NOT NULL,
	"spf_aligned" boolean NOT NULL,
	"header_from" text,
	"envelope_from" text,
	"reasons" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"dkim_auth" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"spf_auth" jsonb DEFAULT '[]'::jsonb NOT NULL,
	CONSTRAINT "dmarc_report_rows_count" CHECK ("dmarc_report_rows"."count" >= 0)
);
--> statement-breakpoint
ALTER TABLE "dmarc_report_rows" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "dmarc_reports" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"raw_report_id" uuid NOT NULL,
	"source" text DEFAULT '' NOT NULL,
	"format" text NOT NULL,
	"org_name" text NOT NULL,
	"email" text,
	"report_id" text NOT NULL,
	"policy_domain" text NOT NULL,
	"domain_id" uuid,
	"date_begin" timestamp with time zone NOT NULL,
	"date_end" timestamp with time zone NOT NULL,
	"policy_published" jsonb NOT NULL,
	"errors" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"record_count" integer NOT NULL,
	"message_count" bigint NOT NULL,
	"quarantined" boolean NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "dmarc_reports" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "raw_reports" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"received_via" text NOT NULL,
	"sha256" text NOT NULL,
	"size" integer NOT NULL,
	"bytes" "bytea" NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"parse_state" text DEFAULT 'pending' NOT NULL,
	"error_code" text,
	"error_detail" text,
	"parsed_at" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "raw_reports_sha256_hex" CHECK ("raw_reports"."sha256" ~ '^[0-9a-f]{64}$'),
	CONSTRAINT "raw_reports_size" CHECK ("raw_reports"."size" = octet_length("raw_reports"."bytes") and "raw_reports"."size" <= 67108864)
);
--> statement-breakpoint
ALTER TABLE "raw_reports" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "report_addresses" (
	"token" text PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "report_addresses_token" CHECK ("report_addresses"."token" ~ '^[a-z0-9]{16,64}$')
);
--> statement-breakpoint
ALTER TABLE "report_addresses" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "tls_report_policies" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "tls_report_policies_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"tenant_id" uuid NOT NULL,
	"report_id" uuid NOT NULL,
	"domain_id" uuid,
	"day" date NOT NULL,
	"policy_type" text NOT NULL,
	"policy_domain" text,
	"policy_strings" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"mx_hosts" text[] DEFAULT '{}'::text[] NOT NULL,
	"successful_sessions" bigint NOT NULL,
	"failed_sessions" bigint NOT NULL,
	"failure_details" jsonb DEFAULT '[]'::jsonb NOT NULL
);
--> statement-breakpoint
ALTER TABLE "tls_report_policies" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "tls_reports" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"raw_report_id" uuid NOT NULL,
	"source" text DEFAULT '' NOT NULL,
	"org_name" text NOT NULL,
	"report_id" text NOT NULL,
	"contact_info" text,
	"date_begin" timestamp with time zone NOT NULL,
	"date_end" timestamp with time zone NOT NULL,
	"successful_sessions" bigint NOT NULL,
	"failed_sessions" bigint NOT NULL,
	"quarantined" boolean NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "tls_reports" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "dmarc_report_rows" ADD CONSTRAINT "dmarc_report_rows_report_id_dmarc_reports_id_fk" FOREIGN KEY ("report_id") REFERENCES "public"."dmarc_reports"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dmarc_reports" ADD CONSTRAINT "dmarc_reports_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dmarc_reports" ADD CONSTRAINT "dmarc_reports_raw_report_id_raw_reports_id_fk" FOREIGN KEY ("raw_report_id") REFERENCES "public"."raw_reports"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dmarc_reports" ADD CONSTRAINT "dmarc_reports_domain_id_domains_id_fk" FOREIGN KEY ("domain_id") REFERENCES "public"."domains"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "raw_reports" ADD CONSTRAINT "raw_reports_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "report_addresses" ADD CONSTRAINT "report_addresses_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tls_report_policies" ADD CONSTRAINT "tls_report_policies_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tls_report_policies" ADD CONSTRAINT "tls_report_policies_report_id_tls_reports_id_fk" FOREIGN KEY ("report_id") REFERENCES "public"."tls_reports"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tls_report_policies" ADD CONSTRAINT "tls_report_policies_domain_id_domains_id_fk" FOREIGN KEY ("domain_id") REFERENCES "public"."domains"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tls_reports" ADD CONSTRAINT "tls_reports_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tls_reports" ADD CONSTRAINT "tls_reports_raw_report_id_raw_reports_id_fk" FOREIGN KEY ("raw_report_id") REFERENCES "public"."raw_reports"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "dmarc_report_rows_report_idx" ON "dmarc_report_rows" USING btree ("report_id");--> statement-breakpoint
CREATE INDEX "dmarc_report_rows_domain_day_idx" ON "dmarc_report_rows" USING btree ("tenant_id","domain_id","day");--> statement-breakpoint
CREATE UNIQUE INDEX "dmarc_reports_dedup_key" ON "dmarc_reports" USING btree ("tenant_id","org_name","report_id","policy_domain","date_begin","date_end");--> statement-breakpoint
CREATE INDEX "dmarc_reports_tenant_id_idx" ON "dmarc_reports" USING btree ("tenant_id","id");--> statement-breakpoint
CREATE INDEX "dmarc_reports_tenant_domain_idx" ON "dmarc_reports" USING btree ("tenant_id","domain_id","date_begin");--> statement-breakpoint
CREATE INDEX "dmarc_reports_raw_idx" ON "dmarc_reports" USING btree ("raw_report_id");--> statement-breakpoint
CREATE UNIQUE INDEX "raw_reports_tenant_sha256_key" ON "raw_reports" USING btree ("tenant_id","sha256");--> statement-breakpoint
CREATE INDEX "raw_reports_tenant_id_idx" ON "raw_reports" USING btree ("tenant_id","id");--> statement-breakpoint
CREATE INDEX "raw_reports_pending_idx" ON "raw_reports" USING btree ("received_at") WHERE "raw_reports"."parse_state" = 'pending';--> statement-breakpoint
CREATE UNIQUE INDEX "report_addresses_tenant_key" ON "report_addresses" USING btree ("tenant_id");--> statement-breakpoint
CREATE INDEX "tls_report_policies_report_idx" ON "tls_report_policies" USING btree ("report_id");--> statement-breakpoint
CREATE INDEX "tls_report_policies_domain_day_idx" ON "tls_report_policies" USING btree ("tenant_id","domain_id","day");--> statement-breakpoint
CREATE UNIQUE INDEX "tls_reports_dedup_key" ON "tls_reports" USING btree ("tenant_id","org_name","report_id","date_begin","date_end");--> statement-breakpoint
CREATE INDEX "tls_reports_tenant_id_idx" ON "tls_reports" USING btree ("tenant_id","id");--> statement-breakpoint
CREATE INDEX "tls_reports_raw_idx" ON "tls_reports" USING btree ("raw_report_id");--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "dmarc_report_rows" AS PERMISSIVE FOR ALL TO public USING ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::uuid) WITH CHECK ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::uuid);--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "dmarc_reports" AS PERMISSIVE FOR ALL TO public USING ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::uuid) WITH CHECK ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::uuid);--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "raw_reports" AS PERMISSIVE FOR ALL TO public USING ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::uuid) WITH CHECK ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::uuid);--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "report_addresses" AS PERMISSIVE FOR ALL TO public USING ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::uuid) WITH CHECK ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::uuid);--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "tls_report_policies" AS PERMISSIVE FOR ALL TO public USING ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::uuid) WITH CHECK ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::uuid);--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "tls_reports" AS PERMISSIVE FOR ALL TO public USING ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::uuid) WITH CHECK ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::uuid);
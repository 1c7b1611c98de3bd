CREATE TABLE "source_ip_names" (
	"ip" "inet" PRIMARY KEY NOT NULL,
	"outcome" text NOT NULL,
	"ptr" text,
	"forward_confirmed" boolean DEFAULT false NOT NULL,
	"provider_id" text,
	"provider_name" text,
	"resolved_at" timestamp with time zone NOT NULL
);

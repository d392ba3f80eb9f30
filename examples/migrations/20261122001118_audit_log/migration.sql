-- schemactl migration 20261122001118_audit_log
-- package: audit_log (schema audit)
-- sql checksum: sha256:b7c26d78ecaa93701955a3bb6b0da14844e7291d7559826d06e05fbc48f27b17
-- approved by platform-admin@example.com at 2026-11-22T00:11:18+00:00

BEGIN;
SET LOCAL lock_timeout = '5s';
CREATE SCHEMA IF NOT EXISTS "audit";
CREATE TABLE "audit"."audit_events" (
  "id" text NOT NULL,
  "tenant_id" text NOT NULL,
  "actor_id" text,
  "actor_type" text NOT NULL DEFAULT 'user',
  "action" text NOT NULL,
  "entity" text NOT NULL,
  "entity_id" text,
  "before" jsonb,
  "after" jsonb,
  "client_ip" text,
  "duration_ms" double precision,
  "request_id" uuid,
  "occurred_at" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "pk_audit_events" PRIMARY KEY ("id"),
  CONSTRAINT "ck_audit_events_actor_type_enum" CHECK ("actor_type" IN ('user', 'system', 'api_key')),
  CONSTRAINT "ck_audit_events_action_enum" CHECK ("action" IN ('create', 'update', 'delete', 'login', 'logout', 'access', 'export', 'import')),
  CONSTRAINT "ck_audit_events_entity_len" CHECK (char_length("entity") <= 100),
  CONSTRAINT "ck_audit_events_entity_id_len" CHECK (char_length("entity_id") <= 64),
  CONSTRAINT "ck_audit_events_client_ip_len" CHECK (char_length("client_ip") <= 45),
  CONSTRAINT "ck_audit_events_duration_ms_min" CHECK ("duration_ms" >= 0)
);
COMMENT ON TABLE "audit"."audit_events" IS 'Audit log entry for a user or system action';
COMMENT ON COLUMN "audit"."audit_events"."entity" IS 'Entity name the action touched, e.g. File';
COMMENT ON COLUMN "audit"."audit_events"."before" IS 'State before the change';
COMMENT ON COLUMN "audit"."audit_events"."after" IS 'State after the change';
COMMENT ON COLUMN "audit"."audit_events"."request_id" IS 'Correlates with the request log';
CREATE TABLE "audit"."audit_retention_policies" (
  "tenant_id" text NOT NULL,
  "retention_days" integer NOT NULL DEFAULT 365,
  "legal_hold" boolean NOT NULL DEFAULT false,
  "updated_at" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "pk_audit_retention_policies" PRIMARY KEY ("tenant_id"),
  CONSTRAINT "ck_audit_retention_policies_retention_days_min" CHECK ("retention_days" >= 30),
  CONSTRAINT "ck_audit_retention_policies_retention_days_max" CHECK ("retention_days" <= 3650)
);
COMMENT ON TABLE "audit"."audit_retention_policies" IS 'How long the audit trail of one tenant is kept';
COMMENT ON COLUMN "audit"."audit_retention_policies"."legal_hold" IS 'While true, nothing is purged regardless of retentionDays';
CREATE INDEX "audit_events_tenant_time" ON "audit"."audit_events" ("tenant_id", "occurred_at");
CREATE INDEX "idx_audit_events_action" ON "audit"."audit_events" ("action");
CREATE INDEX "idx_audit_events_actor_id" ON "audit"."audit_events" ("actor_id");
CREATE INDEX "idx_audit_events_entity_entity_id" ON "audit"."audit_events" ("entity", "entity_id");
ALTER TABLE "audit"."audit_events" ADD CONSTRAINT "fk_audit_events_actor_id" FOREIGN KEY ("actor_id") REFERENCES "public"."users" ("id") ON DELETE SET NULL;
ALTER TABLE "audit"."audit_events" ADD CONSTRAINT "fk_audit_events_tenant_id" FOREIGN KEY ("tenant_id") REFERENCES "auth"."tenants" ("id") ON DELETE CASCADE;
ALTER TABLE "audit"."audit_retention_policies" ADD CONSTRAINT "fk_audit_retention_policies_tenant_id" FOREIGN KEY ("tenant_id") REFERENCES "auth"."tenants" ("id") ON DELETE CASCADE;
COMMIT;

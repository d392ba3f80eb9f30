-- schemactl migration 20261122001122_settings
-- package: settings (schema settings)
-- sql checksum: sha256:060a0268915b80caebd1ed3c71498bb532ea5830a0c76d15648f384420b1bab6
-- approved by platform-admin@example.com at 2026-11-22T00:11:18+00:00

BEGIN;
SET LOCAL lock_timeout = '5s';
CREATE SCHEMA IF NOT EXISTS "settings";
CREATE TABLE "settings"."feature_flags" (
  "id" text NOT NULL,
  "tenant_id" text,
  "key" text NOT NULL,
  "enabled" boolean NOT NULL DEFAULT false,
  "rollout_percent" integer NOT NULL DEFAULT 0,
  "rules" jsonb,
  "updated_at" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "pk_feature_flags" PRIMARY KEY ("id"),
  CONSTRAINT "ck_feature_flags_key_len" CHECK (char_length("key") <= 128),
  CONSTRAINT "ck_feature_flags_rollout_percent_min" CHECK ("rollout_percent" >= 0),
  CONSTRAINT "ck_feature_flags_rollout_percent_max" CHECK ("rollout_percent" <= 100)
);
COMMENT ON TABLE "settings"."feature_flags" IS 'A feature switch, globally or per tenant, with a percentage rollout';
COMMENT ON COLUMN "settings"."feature_flags"."rules" IS 'Targeting rules evaluated by the flag service';
CREATE TABLE "settings"."system_configs" (
  "key" text NOT NULL,
  "value" jsonb NOT NULL,
  "is_secret" boolean NOT NULL DEFAULT false,
  "updated_by_id" text,
  "updated_at" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "pk_system_configs" PRIMARY KEY ("key"),
  CONSTRAINT "ck_system_configs_key_len" CHECK (char_length("key") <= 128)
);
COMMENT ON TABLE "settings"."system_configs" IS 'Platform-wide configuration value, edited from the admin console';
COMMENT ON COLUMN "settings"."system_configs"."key" IS 'Dotted name, e.g. mail.smtp.host';
COMMENT ON COLUMN "settings"."system_configs"."is_secret" IS 'Masked in the admin console and in exports';
ALTER TABLE "settings"."feature_flags" ADD CONSTRAINT "feature_flags_key_per_tenant" UNIQUE ("key", "tenant_id");
ALTER TABLE "settings"."feature_flags" ADD CONSTRAINT "fk_feature_flags_tenant_id" FOREIGN KEY ("tenant_id") REFERENCES "auth"."tenants" ("id") ON DELETE CASCADE;
ALTER TABLE "settings"."system_configs" ADD CONSTRAINT "fk_system_configs_updated_by_id" FOREIGN KEY ("updated_by_id") REFERENCES "public"."users" ("id") ON DELETE SET NULL;
COMMIT;

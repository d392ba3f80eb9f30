-- schemactl migration 20261122001122_settings
-- package: settings (schema settings)
-- sql checksum: sha256:060a0268915b80caebd1ed3c71498bb532ea5830a0c76d15648f384420b1bab6
-- approved by platform-admin@example.com at 2026-11-22T00:11:18+00:00
-- reverts the migration above

BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE "settings"."system_configs" DROP CONSTRAINT "fk_system_configs_updated_by_id";
ALTER TABLE "settings"."feature_flags" DROP CONSTRAINT "fk_feature_flags_tenant_id";
ALTER TABLE "settings"."feature_flags" DROP CONSTRAINT "feature_flags_key_per_tenant";
DROP TABLE "settings"."system_configs";
DROP TABLE "settings"."feature_flags";
DROP SCHEMA IF EXISTS "settings";
COMMIT;

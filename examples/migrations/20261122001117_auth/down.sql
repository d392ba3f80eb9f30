-- schemactl migration 20261122001117_auth
-- package: auth (schema auth)
-- sql checksum: sha256:f15afa821eb14e638e8fd58f6107cf8d071d7da59e6b5ee4c847b8f1b5bdf6cb
-- approved by platform-admin@example.com at 2026-11-22T00:11:18+00:00
-- reverts the migration above

BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE "auth"."sessions" DROP CONSTRAINT "fk_sessions_user_id";
ALTER TABLE "auth"."sessions" DROP CONSTRAINT "fk_sessions_tenant_id";
ALTER TABLE "auth"."login_attempts" DROP CONSTRAINT "fk_login_attempts_username";
ALTER TABLE "auth"."credentials" DROP CONSTRAINT "fk_credentials_user_id";
ALTER TABLE "auth"."tenants" DROP CONSTRAINT "uq_tenants_slug";
ALTER TABLE "auth"."sessions" DROP CONSTRAINT "uq_sessions_token_hash";
DROP INDEX "auth"."sessions_expiry_sweep";
DROP INDEX "auth"."idx_sessions_user_id_expires_at";
DROP INDEX "auth"."idx_sessions_tenant_id";
DROP INDEX "auth"."login_attempts_recent";
ALTER TABLE "auth"."credentials" DROP CONSTRAINT "uq_credentials_user_id";
DROP TABLE "auth"."tenants";
DROP TABLE "auth"."sessions";
DROP TABLE "auth"."login_attempts";
DROP TABLE "auth"."credentials";
DROP SCHEMA IF EXISTS "auth";
COMMIT;

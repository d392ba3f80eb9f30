-- schemactl migration 20261122001118_audit_log
-- package: audit_log (schema audit)
-- sql checksum: sha256:b7c26d78ecaa93701955a3bb6b0da14844e7291d7559826d06e05fbc48f27b17
-- approved by platform-admin@example.com at 2026-11-22T00:11:18+00:00
-- reverts the migration above

BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE "audit"."audit_retention_policies" DROP CONSTRAINT "fk_audit_retention_policies_tenant_id";
ALTER TABLE "audit"."audit_events" DROP CONSTRAINT "fk_audit_events_tenant_id";
ALTER TABLE "audit"."audit_events" DROP CONSTRAINT "fk_audit_events_actor_id";
DROP INDEX "audit"."idx_audit_events_entity_entity_id";
DROP INDEX "audit"."idx_audit_events_actor_id";
DROP INDEX "audit"."idx_audit_events_action";
DROP INDEX "audit"."audit_events_tenant_time";
DROP TABLE "audit"."audit_retention_policies";
DROP TABLE "audit"."audit_events";
DROP SCHEMA IF EXISTS "audit";
COMMIT;

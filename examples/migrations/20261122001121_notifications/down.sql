-- schemactl migration 20261122001121_notifications
-- package: notifications (schema notifications)
-- sql checksum: sha256:3a4fde1890a62d1aff0dc78a91766452707884611b27b4ba4bb053cda175709e
-- approved by platform-admin@example.com at 2026-11-22T00:11:18+00:00
-- reverts the migration above

BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE "notifications"."notification_preferences" DROP CONSTRAINT "fk_notification_preferences_user_id";
ALTER TABLE "notifications"."notifications" DROP CONSTRAINT "fk_notifications_user_id";
ALTER TABLE "notifications"."notifications" DROP CONSTRAINT "fk_notifications_tenant_id";
ALTER TABLE "notifications"."notifications" DROP CONSTRAINT "fk_notifications_audit_log_id";
DROP INDEX "notifications"."notifications_tenant_recent";
DROP INDEX "notifications"."idx_notifications_user_id_is_read_created_at";
DROP INDEX "notifications"."idx_notifications_expires_at";
DROP TABLE "notifications"."notification_preferences";
DROP TABLE "notifications"."notifications";
DROP SCHEMA IF EXISTS "notifications";
COMMIT;

-- schemactl migration 20261122001121_notifications
-- package: notifications (schema notifications)
-- sql checksum: sha256:3a4fde1890a62d1aff0dc78a91766452707884611b27b4ba4bb053cda175709e
-- approved by platform-admin@example.com at 2026-11-22T00:11:18+00:00

BEGIN;
SET LOCAL lock_timeout = '5s';
CREATE SCHEMA IF NOT EXISTS "notifications";
CREATE TABLE "notifications"."notifications" (
  "id" text NOT NULL,
  "tenant_id" text NOT NULL,
  "user_id" text NOT NULL,
  "type" text NOT NULL,
  "title" text NOT NULL,
  "body" text NOT NULL,
  "data" jsonb,
  "audit_log_id" text,
  "is_read" boolean NOT NULL DEFAULT false,
  "created_at" timestamptz NOT NULL DEFAULT now(),
  "expires_at" timestamptz,
  CONSTRAINT "pk_notifications" PRIMARY KEY ("id"),
  CONSTRAINT "ck_notifications_type_enum" CHECK ("type" IN ('info', 'warning', 'success', 'error', 'mention', 'reply', 'system')),
  CONSTRAINT "ck_notifications_title_len" CHECK (char_length("title") <= 200),
  CONSTRAINT "ck_notifications_body_len" CHECK (char_length("body") <= 2000)
);
COMMENT ON TABLE "notifications"."notifications" IS 'A notification shown in the bell menu and optionally delivered by e-mail or push';
COMMENT ON COLUMN "notifications"."notifications"."user_id" IS 'Recipient';
COMMENT ON COLUMN "notifications"."notifications"."data" IS 'Action URL and references to the entities involved';
COMMENT ON COLUMN "notifications"."notifications"."audit_log_id" IS 'The audited action that caused this notification, if any';
CREATE TABLE "notifications"."notification_preferences" (
  "user_id" text NOT NULL,
  "channel" text NOT NULL,
  "enabled" boolean NOT NULL DEFAULT true,
  "digest" text NOT NULL DEFAULT 'instant',
  "quiet_hours_start" integer,
  "quiet_hours_end" integer,
  "updated_at" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "pk_notification_preferences" PRIMARY KEY ("channel", "user_id"),
  CONSTRAINT "ck_notification_preferences_channel_enum" CHECK ("channel" IN ('email', 'push', 'in_app', 'sms')),
  CONSTRAINT "ck_notification_preferences_digest_enum" CHECK ("digest" IN ('instant', 'hourly', 'daily', 'weekly')),
  CONSTRAINT "ck_notification_preferences_quiet_hours_start_min" CHECK ("quiet_hours_start" >= 0),
  CONSTRAINT "ck_notification_preferences_quiet_hours_start_max" CHECK ("quiet_hours_start" <= 23),
  CONSTRAINT "ck_notification_preferences_quiet_hours_end_min" CHECK ("quiet_hours_end" >= 0),
  CONSTRAINT "ck_notification_preferences_quiet_hours_end_max" CHECK ("quiet_hours_end" <= 23)
);
COMMENT ON TABLE "notifications"."notification_preferences" IS 'Whether and how often a user wants notifications on one channel';
COMMENT ON COLUMN "notifications"."notification_preferences"."quiet_hours_start" IS 'Local hour at which delivery pauses';
CREATE INDEX "idx_notifications_expires_at" ON "notifications"."notifications" ("expires_at");
CREATE INDEX "idx_notifications_user_id_is_read_created_at" ON "notifications"."notifications" ("user_id", "is_read", "created_at");
CREATE INDEX "notifications_tenant_recent" ON "notifications"."notifications" ("tenant_id", "created_at");
ALTER TABLE "notifications"."notifications" ADD CONSTRAINT "fk_notifications_audit_log_id" FOREIGN KEY ("audit_log_id") REFERENCES "audit"."audit_events" ("id") ON DELETE SET NULL;
ALTER TABLE "notifications"."notifications" ADD CONSTRAINT "fk_notifications_tenant_id" FOREIGN KEY ("tenant_id") REFERENCES "auth"."tenants" ("id") ON DELETE CASCADE;
ALTER TABLE "notifications"."notifications" ADD CONSTRAINT "fk_notifications_user_id" FOREIGN KEY ("user_id") REFERENCES "public"."users" ("id") ON DELETE CASCADE;
ALTER TABLE "notifications"."notification_preferences" ADD CONSTRAINT "fk_notification_preferences_user_id" FOREIGN KEY ("user_id") REFERENCES "public"."users" ("id") ON DELETE CASCADE;
COMMIT;

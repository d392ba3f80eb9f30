-- schemactl migration 20261122001117_auth
-- package: auth (schema auth)
-- sql checksum: sha256:f15afa821eb14e638e8fd58f6107cf8d071d7da59e6b5ee4c847b8f1b5bdf6cb
-- approved by platform-admin@example.com at 2026-11-22T00:11:18+00:00

BEGIN;
SET LOCAL lock_timeout = '5s';
CREATE SCHEMA IF NOT EXISTS "auth";
CREATE TABLE "auth"."credentials" (
  "username" text NOT NULL,
  "user_id" text NOT NULL,
  "password_hash" text NOT NULL,
  "password_algo" text NOT NULL DEFAULT 'argon2id',
  "failed_attempts" integer NOT NULL DEFAULT 0,
  "locked_until" timestamptz,
  "password_changed_at" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "pk_credentials" PRIMARY KEY ("username"),
  CONSTRAINT "ck_credentials_username_len" CHECK (char_length("username") <= 64),
  CONSTRAINT "ck_credentials_password_hash_len" CHECK (char_length("password_hash") <= 255),
  CONSTRAINT "ck_credentials_password_algo_enum" CHECK ("password_algo" IN ('argon2id', 'bcrypt', 'scrypt')),
  CONSTRAINT "ck_credentials_failed_attempts_min" CHECK ("failed_attempts" >= 0)
);
COMMENT ON TABLE "auth"."credentials" IS 'Password login for a user; keyed by the login name, not by a surrogate id';
COMMENT ON COLUMN "auth"."credentials"."password_hash" IS 'PHC-formatted hash; never the password itself';
CREATE TABLE "auth"."login_attempts" (
  "id" uuid NOT NULL DEFAULT gen_random_uuid(),
  "username" text NOT NULL,
  "succeeded" boolean NOT NULL,
  "failure_reason" text,
  "ip_address" text,
  "attempted_at" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "pk_login_attempts" PRIMARY KEY ("id"),
  CONSTRAINT "ck_login_attempts_failure_reason_enum" CHECK ("failure_reason" IN ('bad_password', 'locked', 'mfa_failed')),
  CONSTRAINT "ck_login_attempts_ip_address_len" CHECK (char_length("ip_address") <= 45)
);
COMMENT ON TABLE "auth"."login_attempts" IS 'One password login attempt, kept for lock-out and forensics';
CREATE TABLE "auth"."sessions" (
  "id" uuid NOT NULL DEFAULT gen_random_uuid(),
  "user_id" text NOT NULL,
  "tenant_id" text NOT NULL,
  "token_hash" text NOT NULL,
  "ip_address" text,
  "user_agent" text,
  "data" jsonb,
  "expires_at" timestamptz NOT NULL,
  "revoked_at" timestamptz,
  "created_at" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "pk_sessions" PRIMARY KEY ("id"),
  CONSTRAINT "ck_sessions_token_hash_len" CHECK (char_length("token_hash") <= 128),
  CONSTRAINT "ck_sessions_ip_address_len" CHECK (char_length("ip_address") <= 45),
  CONSTRAINT "ck_sessions_user_agent_len" CHECK (char_length("user_agent") <= 512)
);
COMMENT ON TABLE "auth"."sessions" IS 'A signed-in browser or API session';
COMMENT ON COLUMN "auth"."sessions"."token_hash" IS 'SHA-256 of the bearer token';
CREATE TABLE "auth"."tenants" (
  "id" text NOT NULL,
  "slug" text NOT NULL,
  "display_name" text NOT NULL,
  "plan" text NOT NULL DEFAULT 'free',
  "settings" jsonb,
  "is_active" boolean NOT NULL DEFAULT false,
  "created_at" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "pk_tenants" PRIMARY KEY ("id"),
  CONSTRAINT "ck_tenants_slug_len" CHECK (char_length("slug") <= 63),
  CONSTRAINT "ck_tenants_display_name_len" CHECK (char_length("display_name") <= 200),
  CONSTRAINT "ck_tenants_plan_enum" CHECK ("plan" IN ('free', 'team', 'enterprise'))
);
COMMENT ON TABLE "auth"."tenants" IS 'An organisation using the platform; every row in every package belongs to one';
COMMENT ON COLUMN "auth"."tenants"."slug" IS 'URL-safe identifier, used in subdomains';
COMMENT ON COLUMN "auth"."tenants"."settings" IS 'Branding, locale and other tenant-level preferences';
ALTER TABLE "auth"."credentials" ADD CONSTRAINT "uq_credentials_user_id" UNIQUE ("user_id");
CREATE INDEX "login_attempts_recent" ON "auth"."login_attempts" ("username", "attempted_at");
CREATE INDEX "idx_sessions_tenant_id" ON "auth"."sessions" ("tenant_id");
CREATE INDEX "idx_sessions_user_id_expires_at" ON "auth"."sessions" ("user_id", "expires_at");
CREATE INDEX "sessions_expiry_sweep" ON "auth"."sessions" ("expires_at");
ALTER TABLE "auth"."sessions" ADD CONSTRAINT "uq_sessions_token_hash" UNIQUE ("token_hash");
ALTER TABLE "auth"."tenants" ADD CONSTRAINT "uq_tenants_slug" UNIQUE ("slug");
ALTER TABLE "auth"."credentials" ADD CONSTRAINT "fk_credentials_user_id" FOREIGN KEY ("user_id") REFERENCES "public"."users" ("id") ON DELETE CASCADE;
ALTER TABLE "auth"."login_attempts" ADD CONSTRAINT "fk_login_attempts_username" FOREIGN KEY ("username") REFERENCES "auth"."credentials" ("username") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "auth"."sessions" ADD CONSTRAINT "fk_sessions_tenant_id" FOREIGN KEY ("tenant_id") REFERENCES "auth"."tenants" ("id") ON DELETE CASCADE;
ALTER TABLE "auth"."sessions" ADD CONSTRAINT "fk_sessions_user_id" FOREIGN KEY ("user_id") REFERENCES "public"."users" ("id") ON DELETE CASCADE;
COMMIT;

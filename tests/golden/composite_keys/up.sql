-- migration: auth
SET LOCAL lock_timeout = '5s';
ALTER TABLE "auth"."system_configs" DROP CONSTRAINT "pk_system_configs";
ALTER TABLE "auth"."credentials" RENAME COLUMN "username" TO "login";
ALTER TABLE "auth"."memberships" ALTER COLUMN "level" SET DEFAULT 2;
ALTER TABLE "auth"."system_configs" ADD COLUMN "tenant_id" text NOT NULL DEFAULT 'default';
ALTER TABLE "auth"."system_configs" ADD CONSTRAINT "pk_system_configs" PRIMARY KEY ("key", "tenant_id");
ALTER TABLE "auth"."memberships" DROP CONSTRAINT "ck_memberships_level_max";
ALTER TABLE "auth"."memberships" ADD CONSTRAINT "ck_memberships_level_max" CHECK ("level" <= 5) NOT VALID;
ALTER TABLE "auth"."memberships" VALIDATE CONSTRAINT "ck_memberships_level_max";
ALTER TABLE "auth"."memberships" DROP CONSTRAINT "ck_memberships_level_min";
ALTER TABLE "auth"."memberships" ADD CONSTRAINT "ck_memberships_level_min" CHECK ("level" >= 0) NOT VALID;
ALTER TABLE "auth"."memberships" VALIDATE CONSTRAINT "ck_memberships_level_min";

-- migration: auth
SET LOCAL lock_timeout = '5s';
ALTER TABLE "auth"."memberships" DROP CONSTRAINT "ck_memberships_level_min";
ALTER TABLE "auth"."memberships" ADD CONSTRAINT "ck_memberships_level_min" CHECK ("level" >= 1) NOT VALID;
ALTER TABLE "auth"."memberships" VALIDATE CONSTRAINT "ck_memberships_level_min";
ALTER TABLE "auth"."memberships" DROP CONSTRAINT "ck_memberships_level_max";
ALTER TABLE "auth"."memberships" ADD CONSTRAINT "ck_memberships_level_max" CHECK ("level" <= 10) NOT VALID;
ALTER TABLE "auth"."memberships" VALIDATE CONSTRAINT "ck_memberships_level_max";
ALTER TABLE "auth"."system_configs" DROP CONSTRAINT "pk_system_configs";
ALTER TABLE "auth"."system_configs" DROP COLUMN "tenant_id";
ALTER TABLE "auth"."memberships" ALTER COLUMN "level" SET DEFAULT 1;
ALTER TABLE "auth"."credentials" RENAME COLUMN "login" TO "username";
ALTER TABLE "auth"."system_configs" ADD CONSTRAINT "pk_system_configs" PRIMARY KEY ("key");

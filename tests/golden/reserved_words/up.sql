-- migration: select
SET LOCAL lock_timeout = '5s';
ALTER TABLE "select"."order" RENAME TO "user";
ALTER TABLE "select"."user" RENAME CONSTRAINT "pk_order" TO "pk_user";
ALTER TABLE "select"."user" RENAME CONSTRAINT "uq_order_group_timestamp" TO "uq_user_group_timestamp";
ALTER TABLE "select"."user" ALTER COLUMN "group" DROP DEFAULT;
ALTER TABLE "select"."user" ALTER COLUMN "group" TYPE bigint USING "group"::bigint;
ALTER TABLE "select"."user" ALTER COLUMN "group" SET DEFAULT -1;
ALTER TABLE "select"."user" ALTER COLUMN "select" SET DEFAULT 'c;d';
ALTER TABLE "select"."user" ALTER COLUMN "timestamp" TYPE date USING "timestamp"::date;
ALTER TABLE "select"."user" ADD COLUMN "table" boolean DEFAULT false;
ALTER TABLE "select"."user" DROP CONSTRAINT "ck_order_select_enum";
ALTER TABLE "select"."user" ADD CONSTRAINT "ck_user_select_enum" CHECK ("select" IN ('a''b', 'c;d', $s$e\f$s$)) NOT VALID;
ALTER TABLE "select"."user" VALIDATE CONSTRAINT "ck_user_select_enum";
COMMENT ON COLUMN "select"."user"."select" IS '';
COMMENT ON TABLE "select"."user" IS 'plain now';

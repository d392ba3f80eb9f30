-- migration: select
SET LOCAL lock_timeout = '5s';
COMMENT ON TABLE "select"."user" IS $s1$it's; DROP TABLE x; -- \ $s$$s1$;
COMMENT ON COLUMN "select"."user"."select" IS 'say "hi"';
ALTER TABLE "select"."user" DROP CONSTRAINT "ck_user_select_enum";
ALTER TABLE "select"."user" ADD CONSTRAINT "ck_order_select_enum" CHECK ("select" IN ('a''b', 'c;d')) NOT VALID;
ALTER TABLE "select"."user" VALIDATE CONSTRAINT "ck_order_select_enum";
ALTER TABLE "select"."user" DROP COLUMN "table";
ALTER TABLE "select"."user" ALTER COLUMN "timestamp" TYPE timestamptz USING "timestamp"::timestamptz;
ALTER TABLE "select"."user" ALTER COLUMN "select" SET DEFAULT 'a''b';
ALTER TABLE "select"."user" ALTER COLUMN "group" DROP DEFAULT;
ALTER TABLE "select"."user" ALTER COLUMN "group" TYPE integer USING "group"::integer;
ALTER TABLE "select"."user" ALTER COLUMN "group" SET DEFAULT 0;
ALTER TABLE "select"."user" RENAME CONSTRAINT "uq_user_group_timestamp" TO "uq_order_group_timestamp";
ALTER TABLE "select"."user" RENAME CONSTRAINT "pk_user" TO "pk_order";
ALTER TABLE "select"."user" RENAME TO "order";

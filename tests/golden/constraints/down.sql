-- migration: crm
SET LOCAL lock_timeout = '5s';
ALTER TABLE "crm"."contacts" DROP CONSTRAINT "fk_contacts_account_id";
ALTER TABLE "crm"."accounts" DROP CONSTRAINT "fk_accounts_owner_id";
ALTER TABLE "crm"."accounts" DROP CONSTRAINT "uq_accounts_region";
DROP INDEX "crm"."idx_accounts_email";
DROP INDEX "crm"."account_region_score";
ALTER TABLE "crm"."accounts" DROP CONSTRAINT "ck_accounts_score_min";
ALTER TABLE "crm"."accounts" DROP CONSTRAINT "ck_accounts_region_enum";
ALTER TABLE "crm"."accounts" ALTER COLUMN "owner_id" SET NOT NULL;
ALTER TABLE "crm"."accounts" ADD CONSTRAINT "uq_accounts_email" UNIQUE ("email");
CREATE INDEX "idx_accounts_region" ON "crm"."accounts" ("region");
CREATE INDEX "account_region_score" ON "crm"."accounts" ("region", "score");
ALTER TABLE "crm"."accounts" ADD CONSTRAINT "fk_accounts_owner_id" FOREIGN KEY ("owner_id") REFERENCES "public"."users" ("id") ON DELETE CASCADE NOT VALID;
ALTER TABLE "crm"."accounts" VALIDATE CONSTRAINT "fk_accounts_owner_id";

-- migration: crm
SET LOCAL lock_timeout = '5s';
ALTER TABLE "crm"."accounts" DROP CONSTRAINT "fk_accounts_owner_id";
DROP INDEX "crm"."account_region_score";
DROP INDEX "crm"."idx_accounts_region";
ALTER TABLE "crm"."accounts" DROP CONSTRAINT "uq_accounts_email";
ALTER TABLE "crm"."accounts" ALTER COLUMN "owner_id" DROP NOT NULL;
ALTER TABLE "crm"."accounts" ADD CONSTRAINT "ck_accounts_region_enum" CHECK ("region" IN ('eu', 'us')) NOT VALID;
ALTER TABLE "crm"."accounts" VALIDATE CONSTRAINT "ck_accounts_region_enum";
ALTER TABLE "crm"."accounts" ADD CONSTRAINT "ck_accounts_score_min" CHECK ("score" >= 0) NOT VALID;
ALTER TABLE "crm"."accounts" VALIDATE CONSTRAINT "ck_accounts_score_min";
CREATE INDEX "account_region_score" ON "crm"."accounts" ("score", "region");
CREATE INDEX "idx_accounts_email" ON "crm"."accounts" ("email");
ALTER TABLE "crm"."accounts" ADD CONSTRAINT "uq_accounts_region" UNIQUE ("region");
ALTER TABLE "crm"."accounts" ADD CONSTRAINT "fk_accounts_owner_id" FOREIGN KEY ("owner_id") REFERENCES "public"."users" ("id") ON DELETE SET NULL NOT VALID;
ALTER TABLE "crm"."accounts" VALIDATE CONSTRAINT "fk_accounts_owner_id";
ALTER TABLE "crm"."contacts" ADD CONSTRAINT "fk_contacts_account_id" FOREIGN KEY ("account_id") REFERENCES "crm"."accounts" ("id") ON DELETE SET NULL NOT VALID;
ALTER TABLE "crm"."contacts" VALIDATE CONSTRAINT "fk_contacts_account_id";

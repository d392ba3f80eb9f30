-- schemactl migration 20261122001119_credits
-- package: credits (schema credits)
-- sql checksum: sha256:682248a7479f1c08fcdee808e3d0820c79681bf1eb5b4be9de56bdeaf0bd749b
-- approved by platform-admin@example.com at 2026-11-22T00:11:18+00:00

BEGIN;
SET LOCAL lock_timeout = '5s';
CREATE SCHEMA IF NOT EXISTS "credits";
CREATE TABLE "credits"."credit_balances" (
  "id" uuid NOT NULL DEFAULT gen_random_uuid(),
  "tenant_id" text NOT NULL,
  "user_id" text NOT NULL,
  "balance" numeric(18, 4) NOT NULL DEFAULT 0,
  "lifetime_earned" numeric(18, 4) NOT NULL DEFAULT 0,
  "lifetime_spent" numeric(18, 4) NOT NULL DEFAULT 0,
  "version" integer NOT NULL DEFAULT 1,
  "updated_at" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "pk_credit_balances" PRIMARY KEY ("id"),
  CONSTRAINT "ck_credit_balances_balance_min" CHECK ("balance" >= 0)
);
COMMENT ON TABLE "credits"."credit_balances" IS 'Current credit balance of one user within one tenant';
CREATE TABLE "credits"."credit_packages" (
  "id" uuid NOT NULL DEFAULT gen_random_uuid(),
  "slug" text NOT NULL,
  "name" text NOT NULL,
  "credits" integer NOT NULL,
  "bonus_credits" integer NOT NULL DEFAULT 0,
  "price_cents" integer NOT NULL,
  "currency" text NOT NULL DEFAULT 'EUR',
  "is_active" boolean NOT NULL DEFAULT true,
  "stripe_price_id" text,
  "sort_order" integer DEFAULT 0,
  "created_at" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "pk_credit_packages" PRIMARY KEY ("id"),
  CONSTRAINT "ck_credit_packages_slug_len" CHECK (char_length("slug") <= 64),
  CONSTRAINT "ck_credit_packages_name_len" CHECK (char_length("name") <= 100),
  CONSTRAINT "ck_credit_packages_credits_min" CHECK ("credits" >= 1),
  CONSTRAINT "ck_credit_packages_bonus_credits_min" CHECK ("bonus_credits" >= 0),
  CONSTRAINT "ck_credit_packages_bonus_credits_max" CHECK ("bonus_credits" <= 100000),
  CONSTRAINT "ck_credit_packages_price_cents_min" CHECK ("price_cents" >= 0),
  CONSTRAINT "ck_credit_packages_currency_enum" CHECK ("currency" IN ('EUR', 'USD', 'GBP')),
  CONSTRAINT "ck_credit_packages_stripe_price_id_len" CHECK (char_length("stripe_price_id") <= 255)
);
COMMENT ON TABLE "credits"."credit_packages" IS 'A pack of credits offered for sale';
COMMENT ON COLUMN "credits"."credit_packages"."price_cents" IS 'Price in the smallest currency unit';
CREATE TABLE "credits"."credit_transactions" (
  "id" uuid NOT NULL DEFAULT gen_random_uuid(),
  "balance_id" uuid NOT NULL,
  "credit_package_id" uuid,
  "type" text NOT NULL,
  "amount" numeric(18, 4) NOT NULL,
  "balance_after" numeric(18, 4) NOT NULL,
  "memo" text,
  "idempotency_key" text NOT NULL,
  "metadata" jsonb,
  "created_at" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "pk_credit_transactions" PRIMARY KEY ("id"),
  CONSTRAINT "ck_credit_transactions_type_enum" CHECK ("type" IN ('purchase', 'usage', 'refund', 'grant', 'expiry')),
  CONSTRAINT "ck_credit_transactions_memo_len" CHECK (char_length("memo") <= 500),
  CONSTRAINT "ck_credit_transactions_idempotency_key_len" CHECK (char_length("idempotency_key") <= 128)
);
COMMENT ON TABLE "credits"."credit_transactions" IS 'Append-only ledger entry: every change of a balance';
COMMENT ON COLUMN "credits"."credit_transactions"."credit_package_id" IS 'The pack bought, for purchases and their refunds';
COMMENT ON COLUMN "credits"."credit_transactions"."amount" IS 'Signed: positive credits in, negative credits out';
ALTER TABLE "credits"."credit_balances" ADD CONSTRAINT "uq_credit_balances_tenant_id_user_id" UNIQUE ("tenant_id", "user_id");
ALTER TABLE "credits"."credit_packages" ADD CONSTRAINT "uq_credit_packages_slug" UNIQUE ("slug");
ALTER TABLE "credits"."credit_packages" ADD CONSTRAINT "uq_credit_packages_stripe_price_id" UNIQUE ("stripe_price_id");
CREATE INDEX "credit_tx_balance_time" ON "credits"."credit_transactions" ("balance_id", "created_at");
CREATE INDEX "idx_credit_transactions_type" ON "credits"."credit_transactions" ("type");
ALTER TABLE "credits"."credit_transactions" ADD CONSTRAINT "uq_credit_transactions_idempotency_key" UNIQUE ("idempotency_key");
ALTER TABLE "credits"."credit_balances" ADD CONSTRAINT "fk_credit_balances_tenant_id" FOREIGN KEY ("tenant_id") REFERENCES "auth"."tenants" ("id") ON DELETE CASCADE;
ALTER TABLE "credits"."credit_balances" ADD CONSTRAINT "fk_credit_balances_user_id" FOREIGN KEY ("user_id") REFERENCES "public"."users" ("id") ON DELETE CASCADE;
ALTER TABLE "credits"."credit_transactions" ADD CONSTRAINT "fk_credit_transactions_balance_id" FOREIGN KEY ("balance_id") REFERENCES "credits"."credit_balances" ("id") ON DELETE RESTRICT;
ALTER TABLE "credits"."credit_transactions" ADD CONSTRAINT "fk_credit_transactions_credit_package_id" FOREIGN KEY ("credit_package_id") REFERENCES "credits"."credit_packages" ("id") ON DELETE SET NULL;
COMMIT;

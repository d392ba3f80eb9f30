-- schemactl migration 20261122001119_credits
-- package: credits (schema credits)
-- sql checksum: sha256:682248a7479f1c08fcdee808e3d0820c79681bf1eb5b4be9de56bdeaf0bd749b
-- approved by platform-admin@example.com at 2026-11-22T00:11:18+00:00
-- reverts the migration above

BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE "credits"."credit_transactions" DROP CONSTRAINT "fk_credit_transactions_credit_package_id";
ALTER TABLE "credits"."credit_transactions" DROP CONSTRAINT "fk_credit_transactions_balance_id";
ALTER TABLE "credits"."credit_balances" DROP CONSTRAINT "fk_credit_balances_user_id";
ALTER TABLE "credits"."credit_balances" DROP CONSTRAINT "fk_credit_balances_tenant_id";
ALTER TABLE "credits"."credit_transactions" DROP CONSTRAINT "uq_credit_transactions_idempotency_key";
DROP INDEX "credits"."idx_credit_transactions_type";
DROP INDEX "credits"."credit_tx_balance_time";
ALTER TABLE "credits"."credit_packages" DROP CONSTRAINT "uq_credit_packages_stripe_price_id";
ALTER TABLE "credits"."credit_packages" DROP CONSTRAINT "uq_credit_packages_slug";
ALTER TABLE "credits"."credit_balances" DROP CONSTRAINT "uq_credit_balances_tenant_id_user_id";
DROP TABLE "credits"."credit_transactions";
DROP TABLE "credits"."credit_packages";
DROP TABLE "credits"."credit_balances";
DROP SCHEMA IF EXISTS "credits";
COMMIT;

-- migration: catalog
SET LOCAL lock_timeout = '5s';
ALTER TABLE "catalog"."products" DROP CONSTRAINT "fk_products_owner_id";
ALTER TABLE "catalog"."categories" DROP CONSTRAINT "fk_categories_parent_id";
ALTER TABLE "catalog"."products" DROP CONSTRAINT "uq_products_sku";
DROP INDEX "catalog"."idx_products_owner_id";
DROP INDEX "catalog"."idx_products_name_tier";
DROP TABLE "catalog"."products";
DROP TABLE "catalog"."categories";
DROP SCHEMA IF EXISTS "catalog";

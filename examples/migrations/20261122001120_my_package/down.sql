-- schemactl migration 20261122001120_my_package
-- package: my_package (schema my_package)
-- sql checksum: sha256:8245c8c44018cbc7c98840847c39a2836ffe15a6ddd2d2e947393d640d30eb8e
-- approved by platform-admin@example.com at 2026-11-22T00:11:18+00:00
-- reverts the migration above

BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE "my_package"."my_other_entities" DROP CONSTRAINT "fk_my_other_entities_my_entity_id";
ALTER TABLE "my_package"."my_entities" DROP CONSTRAINT "fk_my_entities_tenant_id";
DROP INDEX "my_package"."idx_my_other_entities_my_entity_id";
ALTER TABLE "my_package"."my_entities" DROP CONSTRAINT "uq_my_entities_tenant_id_name";
DROP INDEX "my_package"."idx_my_entities_tenant_id";
DROP TABLE "my_package"."my_other_entities";
DROP TABLE "my_package"."my_entities";
DROP SCHEMA IF EXISTS "my_package";
COMMIT;

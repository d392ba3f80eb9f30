-- schemactl migration 20261122001120_my_package
-- package: my_package (schema my_package)
-- sql checksum: sha256:8245c8c44018cbc7c98840847c39a2836ffe15a6ddd2d2e947393d640d30eb8e
-- approved by platform-admin@example.com at 2026-11-22T00:11:18+00:00

BEGIN;
SET LOCAL lock_timeout = '5s';
CREATE SCHEMA IF NOT EXISTS "my_package";
CREATE TABLE "my_package"."my_entities" (
  "id" text NOT NULL,
  "tenant_id" text NOT NULL,
  "name" text NOT NULL,
  "data" text,
  "created_at" bigint NOT NULL,
  CONSTRAINT "pk_my_entities" PRIMARY KEY ("id"),
  CONSTRAINT "ck_my_entities_name_len" CHECK (char_length("name") <= 100)
);
COMMENT ON TABLE "my_package"."my_entities" IS 'Description of entity';
COMMENT ON COLUMN "my_package"."my_entities"."data" IS 'JSON: additional data';
CREATE TABLE "my_package"."my_other_entities" (
  "id" text NOT NULL,
  "my_entity_id" text NOT NULL,
  "label" text NOT NULL,
  "sort_order" integer DEFAULT 0,
  "created_at" bigint NOT NULL,
  CONSTRAINT "pk_my_other_entities" PRIMARY KEY ("id"),
  CONSTRAINT "ck_my_other_entities_label_len" CHECK (char_length("label") <= 100)
);
COMMENT ON TABLE "my_package"."my_other_entities" IS 'A child row of MyEntity';
CREATE INDEX "idx_my_entities_tenant_id" ON "my_package"."my_entities" ("tenant_id");
ALTER TABLE "my_package"."my_entities" ADD CONSTRAINT "uq_my_entities_tenant_id_name" UNIQUE ("tenant_id", "name");
CREATE INDEX "idx_my_other_entities_my_entity_id" ON "my_package"."my_other_entities" ("my_entity_id");
ALTER TABLE "my_package"."my_entities" ADD CONSTRAINT "fk_my_entities_tenant_id" FOREIGN KEY ("tenant_id") REFERENCES "auth"."tenants" ("id") ON DELETE CASCADE;
ALTER TABLE "my_package"."my_other_entities" ADD CONSTRAINT "fk_my_other_entities_my_entity_id" FOREIGN KEY ("my_entity_id") REFERENCES "my_package"."my_entities" ("id") ON DELETE CASCADE;
COMMIT;

-- schemactl migration 20261122001123_storage
-- package: storage (schema file_storage)
-- sql checksum: sha256:84aadfa42b73700e5b11b3f6411d04cd19ac39c26ffc47c5e813540729d1c243
-- approved by platform-admin@example.com at 2026-11-22T00:11:18+00:00
-- reverts the migration above

BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE "file_storage"."tags" DROP CONSTRAINT "fk_tags_tenant_id";
ALTER TABLE "file_storage"."folders" DROP CONSTRAINT "fk_folders_tenant_id";
ALTER TABLE "file_storage"."folders" DROP CONSTRAINT "fk_folders_parent_id";
ALTER TABLE "file_storage"."folders" DROP CONSTRAINT "fk_folders_owner_id";
ALTER TABLE "file_storage"."file_versions" DROP CONSTRAINT "fk_file_versions_file_id";
ALTER TABLE "file_storage"."file_versions" DROP CONSTRAINT "fk_file_versions_created_by_id";
ALTER TABLE "file_storage"."file_tags" DROP CONSTRAINT "fk_file_tags_tagged_by_id";
ALTER TABLE "file_storage"."file_tags" DROP CONSTRAINT "fk_file_tags_tag_id";
ALTER TABLE "file_storage"."file_tags" DROP CONSTRAINT "fk_file_tags_file_id";
ALTER TABLE "file_storage"."files" DROP CONSTRAINT "fk_files_tenant_id";
ALTER TABLE "file_storage"."files" DROP CONSTRAINT "fk_files_owner_id";
ALTER TABLE "file_storage"."files" DROP CONSTRAINT "fk_files_folder_id";
ALTER TABLE "file_storage"."tags" DROP CONSTRAINT "uq_tags_tenant_id_name";
DROP INDEX "file_storage"."idx_folders_tenant_id";
DROP INDEX "file_storage"."idx_folders_parent_id";
ALTER TABLE "file_storage"."folders" DROP CONSTRAINT "folders_unique_name_per_parent";
ALTER TABLE "file_storage"."file_versions" DROP CONSTRAINT "uq_file_versions_storage_key";
ALTER TABLE "file_storage"."file_versions" DROP CONSTRAINT "file_versions_file_number";
DROP INDEX "file_storage"."idx_file_tags_tag_id";
ALTER TABLE "file_storage"."files" DROP CONSTRAINT "uq_files_storage_key";
DROP INDEX "file_storage"."idx_files_tenant_id_is_deleted";
DROP INDEX "file_storage"."idx_files_parent_folder";
DROP INDEX "file_storage"."idx_files_owner_id_created_at";
DROP TABLE "file_storage"."tags";
DROP TABLE "file_storage"."folders";
DROP TABLE "file_storage"."file_versions";
DROP TABLE "file_storage"."file_tags";
DROP TABLE "file_storage"."files";
DROP SCHEMA IF EXISTS "file_storage";
COMMIT;

-- schemactl migration 20261122001123_storage
-- package: storage (schema file_storage)
-- sql checksum: sha256:84aadfa42b73700e5b11b3f6411d04cd19ac39c26ffc47c5e813540729d1c243
-- approved by platform-admin@example.com at 2026-11-22T00:11:18+00:00

BEGIN;
SET LOCAL lock_timeout = '5s';
CREATE SCHEMA IF NOT EXISTS "file_storage";
CREATE TABLE "file_storage"."files" (
  "id" uuid NOT NULL DEFAULT gen_random_uuid(),
  "tenant_id" text NOT NULL,
  "owner_id" text NOT NULL,
  "folder_id" uuid,
  "name" text NOT NULL,
  "mime_type" text NOT NULL,
  "size" bigint NOT NULL,
  "storage_key" text NOT NULL,
  "content_hash" text,
  "metadata" jsonb,
  "visibility" text NOT NULL DEFAULT 'private',
  "is_favorite" boolean NOT NULL DEFAULT false,
  "is_deleted" boolean NOT NULL DEFAULT false,
  "deleted_at" timestamptz,
  "version" integer NOT NULL DEFAULT 1,
  "created_at" timestamptz NOT NULL DEFAULT now(),
  "updated_at" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "pk_files" PRIMARY KEY ("id"),
  CONSTRAINT "ck_files_name_len" CHECK (char_length("name") <= 500),
  CONSTRAINT "ck_files_mime_type_len" CHECK (char_length("mime_type") <= 255),
  CONSTRAINT "ck_files_size_min" CHECK ("size" >= 0),
  CONSTRAINT "ck_files_storage_key_len" CHECK (char_length("storage_key") <= 500),
  CONSTRAINT "ck_files_content_hash_len" CHECK (char_length("content_hash") <= 64),
  CONSTRAINT "ck_files_visibility_enum" CHECK ("visibility" IN ('private', 'tenant', 'public'))
);
COMMENT ON TABLE "file_storage"."files" IS 'Metadata of one stored object; the bytes live in object storage';
COMMENT ON COLUMN "file_storage"."files"."folder_id" IS 'Containing folder; NULL when the file sits at the root';
COMMENT ON COLUMN "file_storage"."files"."size" IS 'Size in bytes';
COMMENT ON COLUMN "file_storage"."files"."storage_key" IS 'Object key in the bucket';
COMMENT ON COLUMN "file_storage"."files"."content_hash" IS 'Hex SHA-256 of the content';
COMMENT ON COLUMN "file_storage"."files"."metadata" IS 'EXIF, page count, duration ... depending on the MIME type';
CREATE TABLE "file_storage"."file_tags" (
  "file_id" uuid NOT NULL,
  "tag_id" uuid NOT NULL,
  "tagged_by_id" text,
  "created_at" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "pk_file_tags" PRIMARY KEY ("file_id", "tag_id")
);
COMMENT ON TABLE "file_storage"."file_tags" IS 'Which tags are attached to which files';
CREATE TABLE "file_storage"."file_versions" (
  "id" uuid NOT NULL DEFAULT gen_random_uuid(),
  "file_id" uuid NOT NULL,
  "version_number" integer NOT NULL,
  "storage_key" text NOT NULL,
  "size" bigint NOT NULL,
  "content_hash" text NOT NULL,
  "created_by_id" text,
  "created_at" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "pk_file_versions" PRIMARY KEY ("id"),
  CONSTRAINT "ck_file_versions_version_number_min" CHECK ("version_number" >= 1),
  CONSTRAINT "ck_file_versions_storage_key_len" CHECK (char_length("storage_key") <= 500),
  CONSTRAINT "ck_file_versions_size_min" CHECK ("size" >= 0),
  CONSTRAINT "ck_file_versions_content_hash_len" CHECK (char_length("content_hash") <= 64)
);
COMMENT ON TABLE "file_storage"."file_versions" IS 'An earlier revision of a file''s content';
CREATE TABLE "file_storage"."folders" (
  "id" uuid NOT NULL DEFAULT gen_random_uuid(),
  "tenant_id" text NOT NULL,
  "owner_id" text NOT NULL,
  "parent_id" uuid,
  "name" text NOT NULL,
  "created_at" timestamptz NOT NULL DEFAULT now(),
  "updated_at" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "pk_folders" PRIMARY KEY ("id"),
  CONSTRAINT "ck_folders_name_len" CHECK (char_length("name") <= 255)
);
COMMENT ON TABLE "file_storage"."folders" IS 'A folder in a user''s drive; folders nest';
COMMENT ON COLUMN "file_storage"."folders"."owner_id" IS 'User who owns the folder';
CREATE TABLE "file_storage"."tags" (
  "id" uuid NOT NULL DEFAULT gen_random_uuid(),
  "tenant_id" text NOT NULL,
  "name" text NOT NULL,
  "color" text,
  "created_at" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "pk_tags" PRIMARY KEY ("id"),
  CONSTRAINT "ck_tags_name_len" CHECK (char_length("name") <= 50),
  CONSTRAINT "ck_tags_color_len" CHECK (char_length("color") <= 7)
);
COMMENT ON TABLE "file_storage"."tags" IS 'A label that users attach to files';
COMMENT ON COLUMN "file_storage"."tags"."color" IS 'CSS hex colour such as #1e88e5';
CREATE INDEX "idx_files_owner_id_created_at" ON "file_storage"."files" ("owner_id", "created_at");
CREATE INDEX "idx_files_parent_folder" ON "file_storage"."files" ("folder_id");
CREATE INDEX "idx_files_tenant_id_is_deleted" ON "file_storage"."files" ("tenant_id", "is_deleted");
ALTER TABLE "file_storage"."files" ADD CONSTRAINT "uq_files_storage_key" UNIQUE ("storage_key");
CREATE INDEX "idx_file_tags_tag_id" ON "file_storage"."file_tags" ("tag_id");
ALTER TABLE "file_storage"."file_versions" ADD CONSTRAINT "file_versions_file_number" UNIQUE ("file_id", "version_number");
ALTER TABLE "file_storage"."file_versions" ADD CONSTRAINT "uq_file_versions_storage_key" UNIQUE ("storage_key");
ALTER TABLE "file_storage"."folders" ADD CONSTRAINT "folders_unique_name_per_parent" UNIQUE ("owner_id", "parent_id", "name");
CREATE INDEX "idx_folders_parent_id" ON "file_storage"."folders" ("parent_id");
CREATE INDEX "idx_folders_tenant_id" ON "file_storage"."folders" ("tenant_id");
ALTER TABLE "file_storage"."tags" ADD CONSTRAINT "uq_tags_tenant_id_name" UNIQUE ("tenant_id", "name");
ALTER TABLE "file_storage"."files" ADD CONSTRAINT "fk_files_folder_id" FOREIGN KEY ("folder_id") REFERENCES "file_storage"."folders" ("id") ON DELETE SET NULL;
ALTER TABLE "file_storage"."files" ADD CONSTRAINT "fk_files_owner_id" FOREIGN KEY ("owner_id") REFERENCES "public"."users" ("id") ON DELETE CASCADE;
ALTER TABLE "file_storage"."files" ADD CONSTRAINT "fk_files_tenant_id" FOREIGN KEY ("tenant_id") REFERENCES "auth"."tenants" ("id") ON DELETE CASCADE;
ALTER TABLE "file_storage"."file_tags" ADD CONSTRAINT "fk_file_tags_file_id" FOREIGN KEY ("file_id") REFERENCES "file_storage"."files" ("id") ON DELETE CASCADE;
ALTER TABLE "file_storage"."file_tags" ADD CONSTRAINT "fk_file_tags_tag_id" FOREIGN KEY ("tag_id") REFERENCES "file_storage"."tags" ("id") ON DELETE CASCADE;
ALTER TABLE "file_storage"."file_tags" ADD CONSTRAINT "fk_file_tags_tagged_by_id" FOREIGN KEY ("tagged_by_id") REFERENCES "public"."users" ("id") ON DELETE SET NULL;
ALTER TABLE "file_storage"."file_versions" ADD CONSTRAINT "fk_file_versions_created_by_id" FOREIGN KEY ("created_by_id") REFERENCES "public"."users" ("id") ON DELETE SET NULL;
ALTER TABLE "file_storage"."file_versions" ADD CONSTRAINT "fk_file_versions_file_id" FOREIGN KEY ("file_id") REFERENCES "file_storage"."files" ("id") ON DELETE CASCADE;
ALTER TABLE "file_storage"."folders" ADD CONSTRAINT "fk_folders_owner_id" FOREIGN KEY ("owner_id") REFERENCES "public"."users" ("id") ON DELETE CASCADE;
ALTER TABLE "file_storage"."folders" ADD CONSTRAINT "fk_folders_parent_id" FOREIGN KEY ("parent_id") REFERENCES "file_storage"."folders" ("id") ON DELETE CASCADE;
ALTER TABLE "file_storage"."folders" ADD CONSTRAINT "fk_folders_tenant_id" FOREIGN KEY ("tenant_id") REFERENCES "auth"."tenants" ("id") ON DELETE CASCADE;
ALTER TABLE "file_storage"."tags" ADD CONSTRAINT "fk_tags_tenant_id" FOREIGN KEY ("tenant_id") REFERENCES "auth"."tenants" ("id") ON DELETE CASCADE;
COMMIT;

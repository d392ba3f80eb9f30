-- schemactl migration 20261122001124_forum
-- package: forum (schema forum)
-- sql checksum: sha256:bdddc846f847537817296f09a8a75f85ffdb33a719a0c66bf3829b22e58570ea
-- approved by platform-admin@example.com at 2026-11-22T00:11:18+00:00

BEGIN;
SET LOCAL lock_timeout = '5s';
CREATE SCHEMA IF NOT EXISTS "forum";
CREATE TABLE "forum"."forum_categories" (
  "id" text NOT NULL,
  "tenant_id" text NOT NULL,
  "parent_id" text,
  "name" text NOT NULL,
  "slug" text NOT NULL,
  "description" text,
  "sort_order" integer NOT NULL DEFAULT 0,
  "created_at" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "pk_forum_categories" PRIMARY KEY ("id"),
  CONSTRAINT "ck_forum_categories_name_len" CHECK (char_length("name") <= 100),
  CONSTRAINT "ck_forum_categories_slug_len" CHECK (char_length("slug") <= 100),
  CONSTRAINT "ck_forum_categories_description_len" CHECK (char_length("description") <= 1000),
  CONSTRAINT "ck_forum_categories_sort_order_min" CHECK ("sort_order" >= 0)
);
COMMENT ON TABLE "forum"."forum_categories" IS 'A board grouping threads; categories can nest one level or more';
COMMENT ON COLUMN "forum"."forum_categories"."description" IS 'Shown under the category title';
CREATE TABLE "forum"."forum_posts" (
  "id" text NOT NULL,
  "thread_id" text NOT NULL,
  "author_id" text,
  "content" text NOT NULL,
  "attachment_id" uuid,
  "like_count" integer NOT NULL DEFAULT 0,
  "edited_at" timestamptz,
  "created_at" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "pk_forum_posts" PRIMARY KEY ("id"),
  CONSTRAINT "ck_forum_posts_content_len" CHECK (char_length("content") <= 20000),
  CONSTRAINT "ck_forum_posts_like_count_min" CHECK ("like_count" >= 0)
);
COMMENT ON TABLE "forum"."forum_posts" IS 'A reply in a thread';
COMMENT ON COLUMN "forum"."forum_posts"."content" IS 'Markdown source';
CREATE TABLE "forum"."forum_threads" (
  "id" text NOT NULL,
  "tenant_id" text NOT NULL,
  "category_id" text NOT NULL,
  "author_id" text NOT NULL,
  "title" text NOT NULL,
  "slug" text NOT NULL,
  "is_pinned" boolean NOT NULL DEFAULT false,
  "is_locked" boolean NOT NULL DEFAULT false,
  "view_count" integer NOT NULL DEFAULT 0,
  "hot_score" double precision NOT NULL DEFAULT 0,
  "labels" jsonb,
  "last_post_at" timestamptz,
  "created_at" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "pk_forum_threads" PRIMARY KEY ("id"),
  CONSTRAINT "ck_forum_threads_title_len" CHECK (char_length("title") <= 200),
  CONSTRAINT "ck_forum_threads_slug_len" CHECK (char_length("slug") <= 200),
  CONSTRAINT "ck_forum_threads_view_count_min" CHECK ("view_count" >= 0)
);
COMMENT ON TABLE "forum"."forum_threads" IS 'A discussion thread inside a category';
COMMENT ON COLUMN "forum"."forum_threads"."hot_score" IS 'Ranking score, recomputed by a background job';
COMMENT ON COLUMN "forum"."forum_threads"."labels" IS 'Moderator labels, e.g. ["solved", "announcement"]';
ALTER TABLE "forum"."forum_categories" ADD CONSTRAINT "forum_category_slug_per_tenant" UNIQUE ("tenant_id", "slug");
CREATE INDEX "idx_forum_categories_parent_id" ON "forum"."forum_categories" ("parent_id");
CREATE INDEX "forum_posts_thread_order" ON "forum"."forum_posts" ("thread_id", "created_at");
CREATE INDEX "idx_forum_posts_author_id" ON "forum"."forum_posts" ("author_id");
CREATE INDEX "forum_threads_hot" ON "forum"."forum_threads" ("tenant_id", "hot_score");
CREATE INDEX "idx_forum_threads_author_id" ON "forum"."forum_threads" ("author_id");
CREATE INDEX "idx_forum_threads_category_id_is_pinned_last_post_at" ON "forum"."forum_threads" ("category_id", "is_pinned", "last_post_at");
ALTER TABLE "forum"."forum_threads" ADD CONSTRAINT "uq_forum_threads_tenant_id_slug" UNIQUE ("tenant_id", "slug");
ALTER TABLE "forum"."forum_categories" ADD CONSTRAINT "fk_forum_categories_parent_id" FOREIGN KEY ("parent_id") REFERENCES "forum"."forum_categories" ("id") ON DELETE SET NULL;
ALTER TABLE "forum"."forum_categories" ADD CONSTRAINT "fk_forum_categories_tenant_id" FOREIGN KEY ("tenant_id") REFERENCES "auth"."tenants" ("id") ON DELETE CASCADE;
ALTER TABLE "forum"."forum_posts" ADD CONSTRAINT "fk_forum_posts_attachment_id" FOREIGN KEY ("attachment_id") REFERENCES "file_storage"."files" ("id") ON DELETE SET NULL;
ALTER TABLE "forum"."forum_posts" ADD CONSTRAINT "fk_forum_posts_author_id" FOREIGN KEY ("author_id") REFERENCES "public"."users" ("id") ON DELETE SET NULL;
ALTER TABLE "forum"."forum_posts" ADD CONSTRAINT "fk_forum_posts_thread_id" FOREIGN KEY ("thread_id") REFERENCES "forum"."forum_threads" ("id") ON DELETE CASCADE;
ALTER TABLE "forum"."forum_threads" ADD CONSTRAINT "fk_forum_threads_author_id" FOREIGN KEY ("author_id") REFERENCES "public"."users" ("id") ON DELETE CASCADE;
ALTER TABLE "forum"."forum_threads" ADD CONSTRAINT "fk_forum_threads_category_id" FOREIGN KEY ("category_id") REFERENCES "forum"."forum_categories" ("id") ON DELETE CASCADE;
ALTER TABLE "forum"."forum_threads" ADD CONSTRAINT "fk_forum_threads_tenant_id" FOREIGN KEY ("tenant_id") REFERENCES "auth"."tenants" ("id") ON DELETE CASCADE;
COMMIT;

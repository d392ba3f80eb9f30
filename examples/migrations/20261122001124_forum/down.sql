-- schemactl migration 20261122001124_forum
-- package: forum (schema forum)
-- sql checksum: sha256:bdddc846f847537817296f09a8a75f85ffdb33a719a0c66bf3829b22e58570ea
-- approved by platform-admin@example.com at 2026-11-22T00:11:18+00:00
-- reverts the migration above

BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE "forum"."forum_threads" DROP CONSTRAINT "fk_forum_threads_tenant_id";
ALTER TABLE "forum"."forum_threads" DROP CONSTRAINT "fk_forum_threads_category_id";
ALTER TABLE "forum"."forum_threads" DROP CONSTRAINT "fk_forum_threads_author_id";
ALTER TABLE "forum"."forum_posts" DROP CONSTRAINT "fk_forum_posts_thread_id";
ALTER TABLE "forum"."forum_posts" DROP CONSTRAINT "fk_forum_posts_author_id";
ALTER TABLE "forum"."forum_posts" DROP CONSTRAINT "fk_forum_posts_attachment_id";
ALTER TABLE "forum"."forum_categories" DROP CONSTRAINT "fk_forum_categories_tenant_id";
ALTER TABLE "forum"."forum_categories" DROP CONSTRAINT "fk_forum_categories_parent_id";
ALTER TABLE "forum"."forum_threads" DROP CONSTRAINT "uq_forum_threads_tenant_id_slug";
DROP INDEX "forum"."idx_forum_threads_category_id_is_pinned_last_post_at";
DROP INDEX "forum"."idx_forum_threads_author_id";
DROP INDEX "forum"."forum_threads_hot";
DROP INDEX "forum"."idx_forum_posts_author_id";
DROP INDEX "forum"."forum_posts_thread_order";
DROP INDEX "forum"."idx_forum_categories_parent_id";
ALTER TABLE "forum"."forum_categories" DROP CONSTRAINT "forum_category_slug_per_tenant";
DROP TABLE "forum"."forum_threads";
DROP TABLE "forum"."forum_posts";
DROP TABLE "forum"."forum_categories";
DROP SCHEMA IF EXISTS "forum";
COMMIT;

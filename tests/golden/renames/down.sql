-- migration: library
SET LOCAL lock_timeout = '5s';
ALTER TABLE "library"."loans" RENAME CONSTRAINT "fk_loans_volume_id" TO "fk_loans_book_id";
ALTER TABLE "library"."volumes" RENAME CONSTRAINT "uq_volumes_name_writer" TO "uq_books_title_author_name";
ALTER INDEX "library"."idx_volumes_name" RENAME TO "idx_books_title";
ALTER TABLE "library"."volumes" RENAME CONSTRAINT "ck_volumes_name_len" TO "ck_books_title_len";
ALTER TABLE "library"."volumes" RENAME CONSTRAINT "pk_volumes" TO "pk_books";
ALTER TABLE "library"."loans" RENAME COLUMN "volume_id" TO "book_id";
ALTER TABLE "library"."volumes" RENAME COLUMN "writer" TO "author_name";
ALTER TABLE "library"."volumes" RENAME COLUMN "name" TO "title";
ALTER TABLE "library"."volumes" RENAME TO "books";

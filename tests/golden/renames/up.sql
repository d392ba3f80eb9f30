-- migration: library
SET LOCAL lock_timeout = '5s';
ALTER TABLE "library"."books" RENAME TO "volumes";
ALTER TABLE "library"."volumes" RENAME COLUMN "title" TO "name";
ALTER TABLE "library"."volumes" RENAME COLUMN "author_name" TO "writer";
ALTER TABLE "library"."loans" RENAME COLUMN "book_id" TO "volume_id";
ALTER TABLE "library"."volumes" RENAME CONSTRAINT "pk_books" TO "pk_volumes";
ALTER TABLE "library"."volumes" RENAME CONSTRAINT "ck_books_title_len" TO "ck_volumes_name_len";
ALTER INDEX "library"."idx_books_title" RENAME TO "idx_volumes_name";
ALTER TABLE "library"."volumes" RENAME CONSTRAINT "uq_books_title_author_name" TO "uq_volumes_name_writer";
ALTER TABLE "library"."loans" RENAME CONSTRAINT "fk_loans_book_id" TO "fk_loans_volume_id";

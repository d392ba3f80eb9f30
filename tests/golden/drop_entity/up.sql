-- migration: tasks
SET LOCAL lock_timeout = '5s';
ALTER TABLE "tasks"."tasks" DROP CONSTRAINT "fk_tasks_project_id";
ALTER TABLE "tasks"."projects" DROP CONSTRAINT "uq_projects_name";
DROP INDEX "tasks"."idx_tasks_project_id";
ALTER TABLE "tasks"."tasks" DROP COLUMN "project_id";
DROP TABLE "tasks"."projects";

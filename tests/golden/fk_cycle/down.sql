-- migration: beta
SET LOCAL lock_timeout = '5s';
ALTER TABLE "alpha"."teams" DROP CONSTRAINT "fk_teams_lead_id";
ALTER TABLE "beta"."people" DROP CONSTRAINT "fk_people_team_id";
DROP TABLE "beta"."people";
DROP SCHEMA IF EXISTS "beta";

-- migration: alpha
SET LOCAL lock_timeout = '5s';
DROP TABLE "alpha"."teams";
DROP SCHEMA IF EXISTS "alpha";

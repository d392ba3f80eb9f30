-- migration: alpha
CREATE SCHEMA IF NOT EXISTS "alpha";
CREATE TABLE "alpha"."teams" (
  "id" integer NOT NULL,
  "lead_id" integer,
  CONSTRAINT "pk_teams" PRIMARY KEY ("id")
);

-- migration: beta
SET LOCAL lock_timeout = '5s';
CREATE SCHEMA IF NOT EXISTS "beta";
CREATE TABLE "beta"."people" (
  "id" integer NOT NULL,
  "team_id" integer,
  CONSTRAINT "pk_people" PRIMARY KEY ("id")
);
ALTER TABLE "beta"."people" ADD CONSTRAINT "fk_people_team_id" FOREIGN KEY ("team_id") REFERENCES "alpha"."teams" ("id") ON DELETE CASCADE;
ALTER TABLE "alpha"."teams" ADD CONSTRAINT "fk_teams_lead_id" FOREIGN KEY ("lead_id") REFERENCES "beta"."people" ("id") ON DELETE SET NULL NOT VALID;
ALTER TABLE "alpha"."teams" VALIDATE CONSTRAINT "fk_teams_lead_id";

-- A TEMP table of the same name does not make main.users any less destroyed.
CREATE TEMP TABLE IF NOT EXISTS users (id INTEGER);
DROP TABLE IF EXISTS main.users;
DROP TABLE IF EXISTS users;
CREATE TABLE IF NOT EXISTS temp.audit (id INTEGER, note TEXT);
ALTER TABLE audit DROP COLUMN note;
ALTER TABLE main.audit DROP COLUMN note;
DROP TABLE IF EXISTS temp.audit;
DROP TABLE IF EXISTS "MAIN"."Audit";

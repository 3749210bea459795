CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL DEFAULT (datetime('now'))
);
create table lower_case (a int);
CREATE TEMP TABLE scratch (a INT);
CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID;
CREATE TABLE "quoted ""name""" (a INT);
CREATE TABLE main.qualified AS SELECT 1 AS one;

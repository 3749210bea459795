-- keep this comment; and this one
create table if not exists sessions(id text);   -- trailing, kept
CREATE
  INDEX IF NOT EXISTS /* odd place */ idx ON sessions (id);
Create View If Not Exists "v" AS SELECT 1;
DROP TABLE IF EXISTS	old;
ALTER TABLE sessions ADD note TEXT; -- noqa: MG004 allowed, so not fixed
alter table sessions add column if not exists extra text;
CREATE TABLE keep_me (a INT); -- noqa: MG001 must fail when it exists

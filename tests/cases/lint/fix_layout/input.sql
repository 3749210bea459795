-- keep this comment; and this one
create table sessions(id text);   -- trailing, kept
CREATE
  INDEX /* odd place */ idx ON sessions (id);
Create View "v" AS SELECT 1;
DROP TABLE	old;
ALTER TABLE sessions ADD note TEXT; -- noqa: MG004 allowed, so not fixed
alter table sessions add column extra text;
CREATE TABLE keep_me (a INT); -- noqa: MG001 must fail when it exists

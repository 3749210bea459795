CREATE TABLE a (x INT);

  CREATE INDEX i ON a (x);
DROP TABLE b; -- noqa: MG005 fine
/* c */ ALTER TABLE a RENAME TO c;

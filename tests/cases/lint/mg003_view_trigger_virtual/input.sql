CREATE VIEW active_jobs AS SELECT * FROM jobs WHERE state = 'running;';
CREATE VIRTUAL TABLE memory_fts USING fts5(body, content='memories', content_rowid='id', tokenize='porter unicode61');
CREATE TRIGGER memories_ai AFTER INSERT ON memories BEGIN
    INSERT INTO memory_fts (rowid, body) VALUES (new.id, new.body);
    UPDATE stats SET n = n + 1; -- a comment; with a semicolon
END;
CREATE TEMP TRIGGER tr_temp BEFORE DELETE ON jobs BEGIN SELECT RAISE(ABORT, 'no;'); END;

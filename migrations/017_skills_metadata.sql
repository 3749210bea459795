-- 017 skills metadata extension
-- Category, version, author and examples for skills, and full-text search over them.

ALTER TABLE skills ADD COLUMN IF NOT EXISTS category TEXT;
ALTER TABLE skills ADD COLUMN IF NOT EXISTS version TEXT NOT NULL DEFAULT '1.0.0';
ALTER TABLE skills ADD COLUMN IF NOT EXISTS author TEXT;
ALTER TABLE skills ADD COLUMN IF NOT EXISTS examples TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(examples));
ALTER TABLE skills ADD COLUMN IF NOT EXISTS metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata));

CREATE INDEX IF NOT EXISTS idx_skills_category ON skills(category) WHERE category IS NOT NULL;

CREATE VIRTUAL TABLE IF NOT EXISTS skills_fts USING fts5(
    name, description, tags, category,
    content='skills', content_rowid='id', tokenize='porter unicode61'
);

CREATE TRIGGER IF NOT EXISTS skills_fts_ai AFTER INSERT ON skills
BEGIN
    INSERT INTO skills_fts (rowid, name, description, tags, category)
    VALUES (NEW.id, NEW.name, NEW.description, NEW.tags, NEW.category);
END;

CREATE TRIGGER IF NOT EXISTS skills_fts_ad AFTER DELETE ON skills
BEGIN
    INSERT INTO skills_fts (skills_fts, rowid, name, description, tags, category)
    VALUES ('delete', OLD.id, OLD.name, OLD.description, OLD.tags, OLD.category);
END;

CREATE TRIGGER IF NOT EXISTS skills_fts_au AFTER UPDATE OF name, description, tags, category ON skills
BEGIN
    INSERT INTO skills_fts (skills_fts, rowid, name, description, tags, category)
    VALUES ('delete', OLD.id, OLD.name, OLD.description, OLD.tags, OLD.category);
    INSERT INTO skills_fts (rowid, name, description, tags, category)
    VALUES (NEW.id, NEW.name, NEW.description, NEW.tags, NEW.category);
END;

-- Skills that existed before this migration: index them all ('rebuild' re-reads the content
-- table, so running it again gives the same index).
INSERT OR IGNORE INTO skills_fts (skills_fts) VALUES ('rebuild');

-- 020 updated_at + graph_relation_types seed
-- Episodic memories get an updated_at. ADD COLUMN cannot have a datetime('now') default, so
-- existing rows are backfilled from created_at and triggers keep it current.

ALTER TABLE episodic_memories ADD COLUMN IF NOT EXISTS updated_at TEXT;

UPDATE episodic_memories SET updated_at = created_at WHERE updated_at IS NULL;

CREATE TRIGGER IF NOT EXISTS trg_episodic_updated_at_insert AFTER INSERT ON episodic_memories
WHEN NEW.updated_at IS NULL
BEGIN
    UPDATE episodic_memories SET updated_at = NEW.created_at WHERE id = NEW.id;
END;

-- Only changes of what the memory says count; bookkeeping columns (strength, access
-- tracking) do not. A writer that sets updated_at itself is left alone.
CREATE TRIGGER IF NOT EXISTS trg_episodic_updated_at_update
AFTER UPDATE OF content, summary, kind, importance ON episodic_memories
WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE episodic_memories SET updated_at = datetime('now') WHERE id = NEW.id;
END;

-- The vocabulary of graph_relations.relation, with each relation's inverse and properties.
CREATE TABLE IF NOT EXISTS graph_relation_types (
    name        TEXT PRIMARY KEY NOT NULL,
    description TEXT NOT NULL,
    inverse     TEXT,
    symmetric   INTEGER NOT NULL DEFAULT 0 CHECK (symmetric IN (0, 1)),
    transitive  INTEGER NOT NULL DEFAULT 0 CHECK (transitive IN (0, 1)),
    builtin     INTEGER NOT NULL DEFAULT 0 CHECK (builtin IN (0, 1))
) WITHOUT ROWID;

INSERT OR IGNORE INTO graph_relation_types (name, description, inverse, symmetric, transitive, builtin) VALUES
    ('related_to', 'Generic association', 'related_to', 1, 0, 1),
    ('is_a', 'Is a kind or instance of', 'has_instance', 0, 1, 1),
    ('has_instance', 'Has as a kind or instance', 'is_a', 0, 1, 1),
    ('part_of', 'Is a component of', 'has_part', 0, 1, 1),
    ('has_part', 'Has as a component', 'part_of', 0, 1, 1),
    ('depends_on', 'Requires', 'required_by', 0, 1, 1),
    ('required_by', 'Is required by', 'depends_on', 0, 1, 1),
    ('uses', 'Makes use of', 'used_by', 0, 0, 1),
    ('used_by', 'Is used by', 'uses', 0, 0, 1),
    ('created_by', 'Was made or written by', 'created', 0, 0, 1),
    ('created', 'Made or wrote', 'created_by', 0, 0, 1),
    ('located_in', 'Is located in', 'contains', 0, 1, 1),
    ('contains', 'Contains', 'located_in', 0, 1, 1),
    ('knows', 'Knows (people, agents)', 'knows', 1, 0, 1),
    ('prefers', 'Prefers (user preferences)', NULL, 0, 0, 1),
    ('contradicts', 'Is in conflict with', 'contradicts', 1, 0, 1),
    ('supersedes', 'Replaces', 'superseded_by', 0, 1, 1),
    ('superseded_by', 'Is replaced by', 'supersedes', 0, 1, 1);

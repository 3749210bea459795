-- 002 5-tier memory + FTS5
-- memory.db holds the agent's long-term memory in five tiers:
--   episodic   what happened (events of sessions), searchable by text
--   semantic   what is known (facts distilled from episodes), searchable by text
--   reflection insights drawn from episodes and other reflections
--   graph      entities and the relations between them
--   skills     procedures the agent can reuse
-- Session ids refer to cortex.db, another file, so they carry no foreign key.
--
-- Full-text search uses FTS5 external-content tables: the text lives once, in the memory
-- table, and triggers keep the index in step. Deletes use FTS5's 'delete' command, which
-- must be given the old values exactly as they were indexed.

CREATE TABLE IF NOT EXISTS episodic_memories (
    id          INTEGER PRIMARY KEY,
    session_id  TEXT,
    turn_seq    INTEGER,
    kind        TEXT NOT NULL DEFAULT 'event' CHECK (kind IN ('event', 'observation', 'action', 'outcome')),
    content     TEXT NOT NULL,
    summary     TEXT,
    importance  REAL NOT NULL DEFAULT 0.5 CHECK (importance BETWEEN 0.0 AND 1.0),
    occurred_at TEXT NOT NULL DEFAULT (datetime('now')),
    created_at  TEXT NOT NULL DEFAULT (datetime('now'))
);

CREATE INDEX IF NOT EXISTS idx_episodic_session ON episodic_memories(session_id, occurred_at);

CREATE VIRTUAL TABLE IF NOT EXISTS episodic_fts USING fts5(
    content, summary,
    content='episodic_memories', content_rowid='id', tokenize='porter unicode61'
);

CREATE TRIGGER IF NOT EXISTS episodic_fts_ai AFTER INSERT ON episodic_memories
BEGIN
    INSERT INTO episodic_fts (rowid, content, summary) VALUES (NEW.id, NEW.content, NEW.summary);
END;

CREATE TRIGGER IF NOT EXISTS episodic_fts_ad AFTER DELETE ON episodic_memories
BEGIN
    INSERT INTO episodic_fts (episodic_fts, rowid, content, summary) VALUES ('delete', OLD.id, OLD.content, OLD.summary);
END;

CREATE TRIGGER IF NOT EXISTS episodic_fts_au AFTER UPDATE OF content, summary ON episodic_memories
BEGIN
    INSERT INTO episodic_fts (episodic_fts, rowid, content, summary) VALUES ('delete', OLD.id, OLD.content, OLD.summary);
    INSERT INTO episodic_fts (rowid, content, summary) VALUES (NEW.id, NEW.content, NEW.summary);
END;

CREATE TABLE IF NOT EXISTS semantic_memories (
    id                INTEGER PRIMARY KEY,
    subject           TEXT NOT NULL,
    fact              TEXT NOT NULL,
    category          TEXT,
    confidence        REAL NOT NULL DEFAULT 0.7 CHECK (confidence BETWEEN 0.0 AND 1.0),
    source_episode_id INTEGER REFERENCES episodic_memories(id) ON DELETE SET NULL,
    created_at        TEXT NOT NULL DEFAULT (datetime('now')),
    updated_at        TEXT NOT NULL DEFAULT (datetime('now'))
);

-- A fact is stored once per subject; learning it again raises its confidence instead.
CREATE UNIQUE INDEX IF NOT EXISTS ux_semantic_subject_fact ON semantic_memories(subject, fact);

CREATE VIRTUAL TABLE IF NOT EXISTS semantic_fts USING fts5(
    subject, fact,
    content='semantic_memories', content_rowid='id', tokenize='porter unicode61'
);

CREATE TRIGGER IF NOT EXISTS semantic_fts_ai AFTER INSERT ON semantic_memories
BEGIN
    INSERT INTO semantic_fts (rowid, subject, fact) VALUES (NEW.id, NEW.subject, NEW.fact);
END;

CREATE TRIGGER IF NOT EXISTS semantic_fts_ad AFTER DELETE ON semantic_memories
BEGIN
    INSERT INTO semantic_fts (semantic_fts, rowid, subject, fact) VALUES ('delete', OLD.id, OLD.subject, OLD.fact);
END;

CREATE TRIGGER IF NOT EXISTS semantic_fts_au AFTER UPDATE OF subject, fact ON semantic_memories
BEGIN
    INSERT INTO semantic_fts (semantic_fts, rowid, subject, fact) VALUES ('delete', OLD.id, OLD.subject, OLD.fact);
    INSERT INTO semantic_fts (rowid, subject, fact) VALUES (NEW.id, NEW.subject, NEW.fact);
END;

CREATE TABLE IF NOT EXISTS reflections (
    id         INTEGER PRIMARY KEY,
    insight    TEXT NOT NULL,
    -- ids of the episodic memories (and reflections) this was drawn from
    evidence   TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(evidence)),
    depth      INTEGER NOT NULL DEFAULT 1 CHECK (depth >= 1),
    importance REAL NOT NULL DEFAULT 0.5 CHECK (importance BETWEEN 0.0 AND 1.0),
    created_at TEXT NOT NULL DEFAULT (datetime('now'))
);

CREATE INDEX IF NOT EXISTS idx_reflections_importance ON reflections(importance, created_at);

CREATE TABLE IF NOT EXISTS graph_entities (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    type       TEXT NOT NULL DEFAULT 'concept',
    properties TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(properties)),
    created_at TEXT NOT NULL DEFAULT (datetime('now'))
);

CREATE UNIQUE INDEX IF NOT EXISTS ux_graph_entities_name_type ON graph_entities(name, type);

CREATE TABLE IF NOT EXISTS graph_relations (
    id         INTEGER PRIMARY KEY,
    source_id  INTEGER NOT NULL REFERENCES graph_entities(id) ON DELETE CASCADE,
    target_id  INTEGER NOT NULL REFERENCES graph_entities(id) ON DELETE CASCADE,
    relation   TEXT NOT NULL,
    weight     REAL NOT NULL DEFAULT 1.0 CHECK (weight >= 0),
    properties TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(properties)),
    created_at TEXT NOT NULL DEFAULT (datetime('now')),
    CHECK (source_id <> target_id)
);

CREATE UNIQUE INDEX IF NOT EXISTS ux_graph_relations_edge ON graph_relations(source_id, relation, target_id);
CREATE INDEX IF NOT EXISTS idx_graph_relations_target ON graph_relations(target_id, relation);

CREATE TABLE IF NOT EXISTS skills (
    id           INTEGER PRIMARY KEY,
    slug         TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    instructions TEXT NOT NULL,
    tags         TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
    uses         INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0),
    successes    INTEGER NOT NULL DEFAULT 0 CHECK (successes >= 0),
    created_at   TEXT NOT NULL DEFAULT (datetime('now')),
    updated_at   TEXT NOT NULL DEFAULT (datetime('now')),
    CHECK (successes <= uses)
);

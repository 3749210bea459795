-- 037 graph metadata extensions
-- Entities get a description, aliases and provenance; relations get a confidence and a
-- validity interval (valid_to NULL = still true), so facts can change without losing history.

ALTER TABLE graph_entities ADD COLUMN IF NOT EXISTS description TEXT;
ALTER TABLE graph_entities ADD COLUMN IF NOT EXISTS aliases TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(aliases));
ALTER TABLE graph_entities ADD COLUMN IF NOT EXISTS confidence REAL NOT NULL DEFAULT 1.0
    CHECK (confidence BETWEEN 0.0 AND 1.0);
ALTER TABLE graph_entities ADD COLUMN IF NOT EXISTS source_episode_id INTEGER
    REFERENCES episodic_memories(id) ON DELETE SET NULL;
ALTER TABLE graph_entities ADD COLUMN IF NOT EXISTS updated_at TEXT;

ALTER TABLE graph_relations ADD COLUMN IF NOT EXISTS confidence REAL NOT NULL DEFAULT 1.0
    CHECK (confidence BETWEEN 0.0 AND 1.0);
ALTER TABLE graph_relations ADD COLUMN IF NOT EXISTS valid_from TEXT;
ALTER TABLE graph_relations ADD COLUMN IF NOT EXISTS valid_to TEXT;
ALTER TABLE graph_relations ADD COLUMN IF NOT EXISTS source_episode_id INTEGER
    REFERENCES episodic_memories(id) ON DELETE SET NULL;

UPDATE graph_entities SET updated_at = created_at WHERE updated_at IS NULL;
UPDATE graph_relations SET valid_from = created_at WHERE valid_from IS NULL;

-- Traversals follow relations that are still valid.
CREATE INDEX IF NOT EXISTS idx_graph_relations_current ON graph_relations(source_id, relation)
    WHERE valid_to IS NULL;

-- Current edges by name, with the inverse relation from graph_relation_types (020).
CREATE VIEW IF NOT EXISTS v_graph_edges AS
SELECT
    r.id          AS relation_id,
    s.name        AS source_name,
    s.type        AS source_type,
    r.relation    AS relation,
    rt.inverse    AS inverse_relation,
    t.name        AS target_name,
    t.type        AS target_type,
    r.weight      AS weight,
    r.confidence  AS confidence,
    r.valid_from  AS valid_from
FROM graph_relations AS r
JOIN graph_entities AS s ON s.id = r.source_id
JOIN graph_entities AS t ON t.id = r.target_id
LEFT JOIN graph_relation_types AS rt ON rt.name = r.relation
WHERE r.valid_to IS NULL;

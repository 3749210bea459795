-- 040 linked session relationships
-- Relations between sessions that memory retrieval follows (a continuation can recall what
-- the session it continues learned). Session ids refer to cortex.db: no foreign keys.

CREATE TABLE IF NOT EXISTS linked_sessions (
    session_id        TEXT NOT NULL,
    linked_session_id TEXT NOT NULL,
    relation          TEXT NOT NULL
                      CHECK (relation IN ('continues', 'forked_from', 'references', 'duplicate_of', 'shares_memory')),
    note              TEXT,
    created_by        TEXT,
    created_at        TEXT NOT NULL DEFAULT (datetime('now')),
    PRIMARY KEY (session_id, linked_session_id, relation),
    CHECK (session_id <> linked_session_id)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS idx_linked_sessions_reverse ON linked_sessions(linked_session_id, relation);

-- Every link seen from both ends.
CREATE VIEW IF NOT EXISTS v_session_links AS
SELECT session_id, linked_session_id, relation, 'outgoing' AS direction, created_at
  FROM linked_sessions
UNION ALL
SELECT linked_session_id AS session_id, session_id AS linked_session_id, relation, 'incoming' AS direction, created_at
  FROM linked_sessions;

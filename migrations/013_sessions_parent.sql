-- 013 parent_session_id for sub-agents
-- A sub-agent runs in its own session, spawned by a parent session. A REFERENCES column may
-- be added only with a NULL default, which is what a top-level session has.

ALTER TABLE sessions ADD COLUMN IF NOT EXISTS parent_session_id TEXT REFERENCES sessions(id) ON DELETE SET NULL;
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS spawn_reason TEXT;
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS depth INTEGER NOT NULL DEFAULT 0 CHECK (depth >= 0);

CREATE INDEX IF NOT EXISTS idx_sessions_parent ON sessions(parent_session_id) WHERE parent_session_id IS NOT NULL;

CREATE VIEW IF NOT EXISTS v_subagent_sessions AS
SELECT
    child.id                AS session_id,
    child.parent_session_id AS parent_session_id,
    parent.title            AS parent_title,
    child.spawn_reason      AS spawn_reason,
    child.depth             AS depth,
    child.status            AS status,
    child.created_at        AS created_at
FROM sessions AS child
JOIN sessions AS parent ON parent.id = child.parent_session_id;

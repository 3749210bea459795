-- 011 workspace_config + file_edit_log
-- Per-workspace settings (key/value, JSON values) and a log of every file the agent touched,
-- which powers undo and "what did the agent change" views.

CREATE TABLE IF NOT EXISTS workspace_config (
    workspace_path TEXT NOT NULL,
    key            TEXT NOT NULL,
    value          TEXT NOT NULL CHECK (json_valid(value)),
    updated_at     TEXT NOT NULL DEFAULT (datetime('now')),
    PRIMARY KEY (workspace_path, key)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS file_edit_log (
    id             INTEGER PRIMARY KEY,
    session_id     TEXT REFERENCES sessions(id) ON DELETE SET NULL,
    turn_id        INTEGER REFERENCES turns(id) ON DELETE SET NULL,
    workspace_path TEXT NOT NULL,
    file_path      TEXT NOT NULL,
    operation      TEXT NOT NULL CHECK (operation IN ('create', 'modify', 'delete', 'rename')),
    old_path       TEXT,
    before_hash    TEXT,
    after_hash     TEXT,
    lines_added    INTEGER NOT NULL DEFAULT 0 CHECK (lines_added >= 0),
    lines_removed  INTEGER NOT NULL DEFAULT 0 CHECK (lines_removed >= 0),
    created_at     TEXT NOT NULL DEFAULT (datetime('now')),
    CHECK (operation <> 'rename' OR old_path IS NOT NULL)
);

CREATE INDEX IF NOT EXISTS idx_file_edit_log_file ON file_edit_log(workspace_path, file_path, created_at);
CREATE INDEX IF NOT EXISTS idx_file_edit_log_session ON file_edit_log(session_id) WHERE session_id IS NOT NULL;

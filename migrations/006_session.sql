-- 006 session_messages table
-- Each session has its own database file (sessions/<id>.db), created and migrated on first
-- use. It holds the exact message list sent to the model; compaction folds old messages
-- into a summary and marks them compacted instead of deleting them.

CREATE TABLE IF NOT EXISTS session_messages (
    id            INTEGER PRIMARY KEY,
    turn_seq      INTEGER,
    role          TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
    content       TEXT NOT NULL DEFAULT '',
    -- multimodal parts (images, files) as JSON, when the content is not plain text
    content_parts TEXT CHECK (content_parts IS NULL OR json_valid(content_parts)),
    tool_calls    TEXT CHECK (tool_calls IS NULL OR json_valid(tool_calls)),
    tool_call_id  TEXT,
    tool_name     TEXT,
    token_count   INTEGER CHECK (token_count IS NULL OR token_count >= 0),
    compacted     INTEGER NOT NULL DEFAULT 0 CHECK (compacted IN (0, 1)),
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    -- a tool result answers a specific call
    CHECK (role <> 'tool' OR tool_call_id IS NOT NULL)
);

CREATE INDEX IF NOT EXISTS idx_session_messages_turn ON session_messages(turn_seq, id);
-- The live context window: messages not yet compacted.
CREATE INDEX IF NOT EXISTS idx_session_messages_live ON session_messages(id) WHERE compacted = 0;
CREATE INDEX IF NOT EXISTS idx_session_messages_tool_call ON session_messages(tool_call_id) WHERE tool_call_id IS NOT NULL;

-- Small facts about the session itself (model, summary of compacted messages, cursor).
CREATE TABLE IF NOT EXISTS session_meta (
    key        TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) WITHOUT ROWID;

-- 001 sessions, turns, jobs
-- Core of cortex.db. A session is one conversation with an agent, a turn one message in it,
-- a job a unit of background work (scheduling columns arrive in 007).

CREATE TABLE IF NOT EXISTS sessions (
    id          TEXT PRIMARY KEY NOT NULL,
    title       TEXT,
    agent_id    TEXT,
    model       TEXT,
    status      TEXT NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'paused', 'closed', 'archived')),
    metadata    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    created_at  TEXT NOT NULL DEFAULT (datetime('now')),
    updated_at  TEXT NOT NULL DEFAULT (datetime('now'))
);

CREATE INDEX IF NOT EXISTS idx_sessions_status_updated ON sessions(status, updated_at);

CREATE TABLE IF NOT EXISTS turns (
    id            INTEGER PRIMARY KEY,
    session_id    TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL CHECK (seq >= 0),
    role          TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
    content       TEXT NOT NULL DEFAULT '',
    tool_calls    TEXT CHECK (tool_calls IS NULL OR json_valid(tool_calls)),
    input_tokens  INTEGER NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
    output_tokens INTEGER NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
    latency_ms    INTEGER CHECK (latency_ms IS NULL OR latency_ms >= 0),
    created_at    TEXT NOT NULL DEFAULT (datetime('now'))
);

-- One turn per position; also the index for "all turns of a session, in order".
CREATE UNIQUE INDEX IF NOT EXISTS ux_turns_session_seq ON turns(session_id, seq);

-- A new turn makes its session the most recently active one.
CREATE TRIGGER IF NOT EXISTS trg_turns_touch_session AFTER INSERT ON turns
BEGIN
    UPDATE sessions SET updated_at = datetime('now') WHERE id = NEW.session_id;
END;

CREATE TABLE IF NOT EXISTS jobs (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL DEFAULT 'task',
    session_id  TEXT REFERENCES sessions(id) ON DELETE SET NULL,
    payload     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(payload)),
    status      TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
    attempts    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error  TEXT,
    created_at  TEXT NOT NULL DEFAULT (datetime('now')),
    updated_at  TEXT NOT NULL DEFAULT (datetime('now'))
);

CREATE INDEX IF NOT EXISTS idx_jobs_status ON jobs(status);
-- Most jobs are not tied to a session: index only those that are.
CREATE INDEX IF NOT EXISTS idx_jobs_session ON jobs(session_id) WHERE session_id IS NOT NULL;

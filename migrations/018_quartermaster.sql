-- 018 tool orchestration learning
-- The Quartermaster records how tool calls turn out and learns which tools, and which
-- sequences of tools, work for a kind of task.

-- Raw outcomes, one row per tool call.
CREATE TABLE IF NOT EXISTS qm_outcomes (
    id          INTEGER PRIMARY KEY,
    session_id  TEXT REFERENCES sessions(id) ON DELETE SET NULL,
    tool        TEXT NOT NULL,
    task_kind   TEXT NOT NULL DEFAULT '*',
    success     INTEGER NOT NULL CHECK (success IN (0, 1)),
    latency_ms  INTEGER CHECK (latency_ms IS NULL OR latency_ms >= 0),
    error_class TEXT,
    created_at  TEXT NOT NULL DEFAULT (datetime('now'))
);

CREATE INDEX IF NOT EXISTS idx_qm_outcomes_tool ON qm_outcomes(tool, task_kind, created_at);

-- Aggregates per (tool, task kind), maintained by the Quartermaster from qm_outcomes.
CREATE TABLE IF NOT EXISTS qm_tool_stats (
    tool             TEXT NOT NULL,
    task_kind        TEXT NOT NULL DEFAULT '*',
    calls            INTEGER NOT NULL DEFAULT 0 CHECK (calls >= 0),
    successes        INTEGER NOT NULL DEFAULT 0 CHECK (successes >= 0),
    total_latency_ms INTEGER NOT NULL DEFAULT 0 CHECK (total_latency_ms >= 0),
    last_used_at     TEXT,
    PRIMARY KEY (tool, task_kind),
    CHECK (successes <= calls)
) WITHOUT ROWID;

-- Learned tool chains: a JSON array of tool names and how often it got the task done.
CREATE TABLE IF NOT EXISTS qm_tool_sequences (
    id            INTEGER PRIMARY KEY,
    task_kind     TEXT NOT NULL,
    sequence      TEXT NOT NULL CHECK (json_valid(sequence) AND json_type(sequence) = 'array'),
    sequence_hash TEXT NOT NULL,
    uses          INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0),
    successes     INTEGER NOT NULL DEFAULT 0 CHECK (successes >= 0),
    score         REAL NOT NULL DEFAULT 0.0 CHECK (score BETWEEN 0.0 AND 1.0),
    updated_at    TEXT NOT NULL DEFAULT (datetime('now')),
    CHECK (successes <= uses)
);

CREATE UNIQUE INDEX IF NOT EXISTS ux_qm_tool_sequences_hash ON qm_tool_sequences(task_kind, sequence_hash);

-- 003 lens_events audit
-- lens.db is the audit log: the full activity timeline (sessions, tool calls, model calls,
-- policy decisions), security events and metrics. Timestamps are ISO-8601 UTC with
-- milliseconds, so they sort as text.

CREATE TABLE IF NOT EXISTS lens_events (
    id          INTEGER PRIMARY KEY,
    ts          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    category    TEXT NOT NULL
                CHECK (category IN ('session', 'tool', 'model', 'policy', 'security', 'system', 'metric')),
    type        TEXT NOT NULL,
    severity    TEXT NOT NULL DEFAULT 'info' CHECK (severity IN ('debug', 'info', 'warn', 'error', 'critical')),
    session_id  TEXT,
    turn_seq    INTEGER,
    agent_id    TEXT,
    node_id     TEXT,
    actor       TEXT,
    summary     TEXT NOT NULL DEFAULT '',
    data        TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(data)),
    duration_ms INTEGER CHECK (duration_ms IS NULL OR duration_ms >= 0)
);

CREATE INDEX IF NOT EXISTS idx_lens_events_ts ON lens_events(ts);
CREATE INDEX IF NOT EXISTS idx_lens_events_category ON lens_events(category, type, ts);
CREATE INDEX IF NOT EXISTS idx_lens_events_session ON lens_events(session_id, ts) WHERE session_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_lens_events_alerts ON lens_events(ts)
    WHERE category = 'security' OR severity IN ('error', 'critical');

-- What happened is immutable. Retention may delete old events, and columns that classify an
-- event (added later) may change, so the guard lists the recorded columns.
CREATE TRIGGER IF NOT EXISTS trg_lens_events_immutable
BEFORE UPDATE OF ts, category, type, severity, session_id, turn_seq, agent_id, node_id, actor, summary, data, duration_ms
ON lens_events
BEGIN
    SELECT RAISE(ABORT, 'lens_events is append-only');
END;

CREATE VIEW IF NOT EXISTS v_lens_alerts AS
SELECT id, ts, category, type, severity, session_id, actor, summary
  FROM lens_events
 WHERE category = 'security' OR severity IN ('error', 'critical');

-- Hourly rollups of numeric metrics (bucket like '2026-06-24T10').
CREATE TABLE IF NOT EXISTS lens_metrics (
    metric TEXT NOT NULL,
    bucket TEXT NOT NULL,
    count  INTEGER NOT NULL DEFAULT 0 CHECK (count >= 0),
    sum    REAL NOT NULL DEFAULT 0,
    min    REAL,
    max    REAL,
    PRIMARY KEY (metric, bucket)
) WITHOUT ROWID;

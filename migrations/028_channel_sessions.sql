-- 028 channel session tracking
-- A conversation arriving through a channel (Slack thread, Telegram chat, e-mail thread...)
-- maps to one cortex session. The channel name refers to channels.id (030).

CREATE TABLE IF NOT EXISTS channel_sessions (
    id               TEXT PRIMARY KEY NOT NULL,
    channel          TEXT NOT NULL,
    external_id      TEXT NOT NULL,
    session_id       TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    user_handle      TEXT,
    status           TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'idle', 'closed')),
    last_activity_at TEXT NOT NULL DEFAULT (datetime('now')),
    created_at       TEXT NOT NULL DEFAULT (datetime('now'))
);

-- One cortex session per external thread.
CREATE UNIQUE INDEX IF NOT EXISTS ux_channel_sessions_external ON channel_sessions(channel, external_id);
CREATE INDEX IF NOT EXISTS idx_channel_sessions_session ON channel_sessions(session_id);
-- The idle sweep: open conversations by last activity.
CREATE INDEX IF NOT EXISTS idx_channel_sessions_open ON channel_sessions(last_activity_at) WHERE status = 'open';

-- 030 channels configuration
-- Configured channels. Tokens live in the vault: vault_key names the vault entry, and
-- nothing secret is stored here.

CREATE TABLE IF NOT EXISTS channels (
    id                 TEXT PRIMARY KEY NOT NULL,
    kind               TEXT NOT NULL
                       CHECK (kind IN ('cli', 'web', 'slack', 'discord', 'telegram', 'email', 'matrix', 'webhook')),
    display_name       TEXT NOT NULL,
    enabled            INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
    config             TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(config)),
    vault_key          TEXT,
    default_agent_id   TEXT,
    rate_limit_per_min INTEGER CHECK (rate_limit_per_min IS NULL OR rate_limit_per_min > 0),
    created_at         TEXT NOT NULL DEFAULT (datetime('now')),
    updated_at         TEXT NOT NULL DEFAULT (datetime('now'))
);

-- The two built-in channels are always there; the others are added by the user.
INSERT OR IGNORE INTO channels (id, kind, display_name, enabled) VALUES
    ('cli', 'cli', 'Command line', 1),
    ('web', 'web', 'Web UI', 1);

-- Who may talk to the agent through a channel (user ids, handles or e-mail addresses).
CREATE TABLE IF NOT EXISTS channel_allowlist (
    channel_id TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    principal  TEXT NOT NULL,
    added_at   TEXT NOT NULL DEFAULT (datetime('now')),
    PRIMARY KEY (channel_id, principal)
) WITHOUT ROWID;

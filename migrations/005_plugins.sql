-- 005 plugin registry
-- plugins.db: installed plugins, their versions, the permissions they ask for and which of
-- them the user granted, and a trust level. A newly installed plugin is disabled.

CREATE TABLE IF NOT EXISTS plugins (
    id             TEXT PRIMARY KEY NOT NULL,
    name           TEXT NOT NULL,
    description    TEXT,
    author         TEXT,
    homepage       TEXT,
    active_version TEXT,
    enabled        INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
    trust_level    TEXT NOT NULL DEFAULT 'untrusted'
                   CHECK (trust_level IN ('untrusted', 'community', 'verified', 'official')),
    installed_at   TEXT NOT NULL DEFAULT (datetime('now')),
    updated_at     TEXT NOT NULL DEFAULT (datetime('now')),
    CHECK (enabled = 0 OR active_version IS NOT NULL)
);

CREATE INDEX IF NOT EXISTS idx_plugins_enabled ON plugins(trust_level) WHERE enabled = 1;

CREATE TABLE IF NOT EXISTS plugin_versions (
    plugin_id    TEXT NOT NULL REFERENCES plugins(id) ON DELETE CASCADE,
    version      TEXT NOT NULL,
    manifest     TEXT NOT NULL CHECK (json_valid(manifest)),
    entrypoint   TEXT NOT NULL,
    -- subresource-integrity style digest of the package, e.g. 'sha256-...'
    integrity    TEXT,
    source_url   TEXT,
    installed_at TEXT NOT NULL DEFAULT (datetime('now')),
    PRIMARY KEY (plugin_id, version)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS plugin_permissions (
    plugin_id  TEXT NOT NULL REFERENCES plugins(id) ON DELETE CASCADE,
    -- e.g. 'fs.read', 'net:api.github.com', 'vault:github/token'
    permission TEXT NOT NULL,
    granted    INTEGER NOT NULL DEFAULT 0 CHECK (granted IN (0, 1)),
    granted_by TEXT,
    granted_at TEXT,
    PRIMARY KEY (plugin_id, permission),
    CHECK (granted = 0 OR granted_at IS NOT NULL)
) WITHOUT ROWID;

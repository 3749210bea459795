-- 034 sandbox snapshots, workspace snapshots, dev env manifests, bug repro runs
-- Reproducibility: the state of a sandbox and of a workspace at a point in time, the
-- environment needed to rebuild it, and runs that try to reproduce a bug from them.

CREATE TABLE IF NOT EXISTS sandbox_snapshots (
    id                 TEXT PRIMARY KEY NOT NULL,
    session_id         TEXT REFERENCES sessions(id) ON DELETE SET NULL,
    sandbox_kind       TEXT NOT NULL CHECK (sandbox_kind IN ('process', 'container', 'vm', 'wasm')),
    image              TEXT,
    storage_uri        TEXT NOT NULL,
    size_bytes         INTEGER CHECK (size_bytes IS NULL OR size_bytes >= 0),
    sha256             TEXT CHECK (sha256 IS NULL OR length(sha256) = 64),
    parent_snapshot_id TEXT REFERENCES sandbox_snapshots(id) ON DELETE SET NULL,
    created_at         TEXT NOT NULL DEFAULT (datetime('now')),
    expires_at         TEXT
);

CREATE INDEX IF NOT EXISTS idx_sandbox_snapshots_session ON sandbox_snapshots(session_id);
CREATE INDEX IF NOT EXISTS idx_sandbox_snapshots_expiry ON sandbox_snapshots(expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS workspace_snapshots (
    id             TEXT PRIMARY KEY NOT NULL,
    workspace_path TEXT NOT NULL,
    session_id     TEXT REFERENCES sessions(id) ON DELETE SET NULL,
    vcs            TEXT CHECK (vcs IS NULL OR vcs IN ('git', 'none')),
    vcs_ref        TEXT,
    dirty          INTEGER NOT NULL DEFAULT 0 CHECK (dirty IN (0, 1)),
    -- file list with content hashes
    manifest       TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(manifest)),
    storage_uri    TEXT,
    created_at     TEXT NOT NULL DEFAULT (datetime('now'))
);

CREATE INDEX IF NOT EXISTS idx_workspace_snapshots_path ON workspace_snapshots(workspace_path, created_at);

CREATE TABLE IF NOT EXISTS dev_env_manifests (
    id                TEXT PRIMARY KEY NOT NULL,
    workspace_path    TEXT NOT NULL,
    workspace_type_id TEXT REFERENCES workspace_types(id) ON DELETE SET NULL,
    toolchain         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(toolchain)),
    setup_commands    TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(setup_commands)),
    content_hash      TEXT NOT NULL,
    created_at        TEXT NOT NULL DEFAULT (datetime('now'))
);

-- Identical environments for a workspace are stored once.
CREATE UNIQUE INDEX IF NOT EXISTS ux_dev_env_manifests_hash ON dev_env_manifests(workspace_path, content_hash);

CREATE TABLE IF NOT EXISTS bug_repro_runs (
    id                    TEXT PRIMARY KEY NOT NULL,
    session_id            TEXT REFERENCES sessions(id) ON DELETE SET NULL,
    sandbox_snapshot_id   TEXT REFERENCES sandbox_snapshots(id) ON DELETE SET NULL,
    workspace_snapshot_id TEXT REFERENCES workspace_snapshots(id) ON DELETE SET NULL,
    dev_env_manifest_id   TEXT REFERENCES dev_env_manifests(id) ON DELETE SET NULL,
    command               TEXT NOT NULL,
    expected              TEXT,
    status                TEXT NOT NULL DEFAULT 'queued'
                          CHECK (status IN ('queued', 'running', 'reproduced', 'not_reproduced', 'error')),
    exit_code             INTEGER,
    log_uri               TEXT,
    started_at            TEXT,
    finished_at           TEXT,
    created_at            TEXT NOT NULL DEFAULT (datetime('now'))
);

CREATE INDEX IF NOT EXISTS idx_bug_repro_runs_active ON bug_repro_runs(created_at) WHERE status IN ('queued', 'running');

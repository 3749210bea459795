-- 021 workspace type configuration
-- Workspace types (detected from marker files, e.g. package.json) carry default settings;
-- a workspace gets a type by detection or by the user's choice.

CREATE TABLE IF NOT EXISTS workspace_types (
    id             TEXT PRIMARY KEY NOT NULL,
    display_name   TEXT NOT NULL,
    detect_globs   TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(detect_globs)),
    default_config TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(default_config)),
    builtin        INTEGER NOT NULL DEFAULT 0 CHECK (builtin IN (0, 1)),
    created_at     TEXT NOT NULL DEFAULT (datetime('now'))
);

INSERT OR IGNORE INTO workspace_types (id, display_name, detect_globs, default_config, builtin) VALUES
    ('generic', 'Generic', '[]', '{}', 1),
    ('deno', 'Deno', '["deno.json", "deno.jsonc"]', '{"test": "deno test"}', 1),
    ('node', 'Node.js', '["package.json"]', '{"test": "npm test"}', 1),
    ('python', 'Python', '["pyproject.toml", "setup.py", "requirements.txt"]', '{"test": "pytest"}', 1),
    ('rust', 'Rust', '["Cargo.toml"]', '{"test": "cargo test"}', 1),
    ('go', 'Go', '["go.mod"]', '{"test": "go test ./..."}', 1);

CREATE TABLE IF NOT EXISTS workspace_type_assignments (
    workspace_path TEXT PRIMARY KEY NOT NULL,
    type_id        TEXT NOT NULL DEFAULT 'generic' REFERENCES workspace_types(id) ON DELETE CASCADE,
    source         TEXT NOT NULL DEFAULT 'detected' CHECK (source IN ('detected', 'user')),
    overrides      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(overrides)),
    assigned_at    TEXT NOT NULL DEFAULT (datetime('now'))
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS idx_workspace_type_assignments_type ON workspace_type_assignments(type_id);

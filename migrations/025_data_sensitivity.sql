-- 025 data sensitivity classification
-- Four levels, ordered by rank. Sessions, turns and edited files carry a level; classifier
-- rules raise it when content matches. The same level names are used in memory.db (026)
-- and lens.db (027), which cannot reference this table, hence the CHECK lists.

CREATE TABLE IF NOT EXISTS sensitivity_levels (
    level       TEXT PRIMARY KEY NOT NULL,
    rank        INTEGER NOT NULL UNIQUE CHECK (rank >= 0),
    description TEXT NOT NULL
) WITHOUT ROWID;

INSERT OR IGNORE INTO sensitivity_levels (level, rank, description) VALUES
    ('public', 0, 'May be shared outside the installation'),
    ('internal', 1, 'Default: visible to users of this installation'),
    ('confidential', 2, 'Business or personal data; not sent to untrusted tools or models'),
    ('restricted', 3, 'Credentials and secrets; never leaves the machine, redacted in logs');

CREATE TABLE IF NOT EXISTS sensitivity_rules (
    id         TEXT PRIMARY KEY NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('regex', 'path_glob', 'keyword')),
    pattern    TEXT NOT NULL,
    level      TEXT NOT NULL REFERENCES sensitivity_levels(level),
    enabled    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at TEXT NOT NULL DEFAULT (datetime('now'))
);

INSERT OR IGNORE INTO sensitivity_rules (id, kind, pattern, level) VALUES
    ('builtin:private-key', 'regex', '-----BEGIN [A-Z ]*PRIVATE KEY-----', 'restricted'),
    ('builtin:aws-access-key', 'regex', 'AKIA[0-9A-Z]{16}', 'restricted'),
    ('builtin:dotenv', 'path_glob', '**/.env*', 'confidential'),
    ('builtin:ssh-dir', 'path_glob', '**/.ssh/**', 'restricted');

ALTER TABLE sessions ADD COLUMN IF NOT EXISTS sensitivity TEXT NOT NULL DEFAULT 'internal'
    CHECK (sensitivity IN ('public', 'internal', 'confidential', 'restricted'));
ALTER TABLE turns ADD COLUMN IF NOT EXISTS sensitivity TEXT NOT NULL DEFAULT 'internal'
    CHECK (sensitivity IN ('public', 'internal', 'confidential', 'restricted'));
ALTER TABLE file_edit_log ADD COLUMN IF NOT EXISTS sensitivity TEXT NOT NULL DEFAULT 'internal'
    CHECK (sensitivity IN ('public', 'internal', 'confidential', 'restricted'));

-- Sensitive sessions are few and looked up for export and redaction.
CREATE INDEX IF NOT EXISTS idx_sessions_sensitive ON sessions(sensitivity)
    WHERE sensitivity IN ('confidential', 'restricted');

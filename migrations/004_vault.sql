-- 004 vault_entries + access_log
-- vault.db is the credential vault. Each secret is encrypted with AES-256-GCM under a key
-- identified by key_id (the key itself is never stored here); the row holds the ciphertext
-- with its 16-byte tag appended and the 96-bit nonce. aad records what was bound into the
-- tag (the entry name), so a ciphertext moved to another row fails to decrypt.

CREATE TABLE IF NOT EXISTS vault_entries (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL DEFAULT 'secret'
                CHECK (kind IN ('secret', 'api_key', 'oauth_token', 'password', 'certificate', 'ssh_key')),
    ciphertext  BLOB NOT NULL CHECK (length(ciphertext) >= 16),
    nonce       BLOB NOT NULL CHECK (length(nonce) = 12),
    key_id      TEXT NOT NULL DEFAULT 'master-v1',
    aad         TEXT,
    version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    description TEXT,
    -- never secret material: labels, the provider, the URL it is for
    metadata    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    created_at  TEXT NOT NULL DEFAULT (datetime('now')),
    updated_at  TEXT NOT NULL DEFAULT (datetime('now')),
    rotated_at  TEXT,
    expires_at  TEXT
);

CREATE UNIQUE INDEX IF NOT EXISTS ux_vault_entries_name ON vault_entries(name);
-- GCM breaks if a nonce is reused under the same key: make a reuse fail loudly.
CREATE UNIQUE INDEX IF NOT EXISTS ux_vault_entries_key_nonce ON vault_entries(key_id, nonce);
CREATE INDEX IF NOT EXISTS idx_vault_entries_expiry ON vault_entries(expires_at) WHERE expires_at IS NOT NULL;

-- Every access, successful or denied. entry_name is kept so the log outlives the entry.
CREATE TABLE IF NOT EXISTS access_log (
    id         INTEGER PRIMARY KEY,
    entry_id   TEXT REFERENCES vault_entries(id) ON DELETE SET NULL,
    entry_name TEXT NOT NULL,
    action     TEXT NOT NULL CHECK (action IN ('create', 'read', 'update', 'rotate', 'delete', 'denied')),
    actor      TEXT NOT NULL,
    session_id TEXT,
    reason     TEXT,
    success    INTEGER NOT NULL DEFAULT 1 CHECK (success IN (0, 1)),
    ts         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE INDEX IF NOT EXISTS idx_access_log_entry ON access_log(entry_name, ts);
CREATE INDEX IF NOT EXISTS idx_access_log_actor ON access_log(actor, ts);
CREATE INDEX IF NOT EXISTS idx_access_log_denied ON access_log(ts) WHERE success = 0 OR action = 'denied';

-- Append-only. entry_id is left out on purpose: deleting an entry sets it to NULL.
CREATE TRIGGER IF NOT EXISTS trg_access_log_immutable
BEFORE UPDATE OF entry_name, action, actor, session_id, reason, success, ts ON access_log
BEGIN
    SELECT RAISE(ABORT, 'access_log is append-only');
END;

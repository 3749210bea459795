-- 042 policy CHECK constraint widening + deny rules
-- policy_rules.action has been CHECK (action IN ('allow', 'ask')) since 009; deny rules need
-- 'deny'. SQLite cannot alter a CHECK constraint, so the table is rebuilt the documented way
-- (sqlite.org/lang_altertable.html, "other kinds of table schema changes"): create the new
-- table, copy the rows, drop the old one, rename, recreate the indexes. The ids are kept, so
-- node_policies (016) still references the same rules. Every column survives: 016's scope,
-- 022's enabled and disabled_reason. No view or trigger refers to policy_rules.
--
-- Foreign keys must be off: with them on, DROP TABLE policy_rules would cascade-delete every
-- node_policies row. The runtime sets this PRAGMA outside the migration's transaction (inside
-- one it is a no-op) and runs PRAGMA foreign_key_check before COMMIT.
--
-- A second run right after the first is harmless: policy_rules_new is created empty, the
-- rows are copied again, and the rename produces the same schema.
PRAGMA foreign_keys=OFF;

CREATE TABLE IF NOT EXISTS policy_rules_new (
    id              TEXT PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    description     TEXT,
    tool            TEXT NOT NULL DEFAULT '*',
    pattern         TEXT NOT NULL DEFAULT '*',
    action          TEXT NOT NULL CHECK (action IN ('allow', 'ask', 'deny')),
    priority        INTEGER NOT NULL DEFAULT 100 CHECK (priority >= 0),
    source          TEXT NOT NULL DEFAULT 'user' CHECK (source IN ('default', 'user', 'plugin')),
    scope           TEXT NOT NULL DEFAULT 'global' CHECK (scope IN ('global', 'node')),
    enabled         INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    disabled_reason TEXT,
    created_at      TEXT NOT NULL DEFAULT (datetime('now')),
    updated_at      TEXT NOT NULL DEFAULT (datetime('now'))
);

INSERT OR IGNORE INTO policy_rules_new
    (id, name, description, tool, pattern, action, priority, source, scope, enabled, disabled_reason,
     created_at, updated_at)
SELECT id, name, description, tool, pattern, action, priority, source, scope, enabled, disabled_reason,
       created_at, updated_at
  FROM policy_rules;

-- noqa: MG010 table rebuild: every row was copied into policy_rules_new by the statement above
DROP TABLE IF EXISTS policy_rules;

-- noqa: MG007 the rename is atomic inside this migration's transaction
ALTER TABLE policy_rules_new RENAME TO policy_rules;

-- The indexes went with the old table (009, 016, 022); same names, same definitions.
CREATE INDEX IF NOT EXISTS idx_policy_rules_tool ON policy_rules(tool, priority);
CREATE INDEX IF NOT EXISTS idx_policy_rules_scope ON policy_rules(scope) WHERE scope <> 'global';
CREATE INDEX IF NOT EXISTS idx_policy_rules_enabled ON policy_rules(tool, priority) WHERE enabled = 1;

PRAGMA foreign_keys=ON;

-- Deny rules rank before the default rules (priority 50) and new user rules (default 100).
INSERT OR IGNORE INTO policy_rules (id, name, description, tool, pattern, action, priority, source) VALUES
    ('default:deny-rm-root', 'Never wipe the filesystem',
     'rm -rf of the root directory', 'shell.exec', 'rm -rf /*', 'deny', 10, 'default'),
    ('default:deny-rm-home', 'Never wipe the home directory',
     'rm -rf of the home directory', 'shell.exec', 'rm -rf ~*', 'deny', 10, 'default'),
    ('default:deny-ssh-keys', 'Never read SSH keys',
     'Private keys under ~/.ssh', 'fs.read', '**/.ssh/id_*', 'deny', 10, 'default'),
    ('default:deny-vault-export', 'Never export the vault',
     'Bulk export of decrypted vault entries', 'vault.export', '*', 'deny', 10, 'default'),
    ('default:deny-pipe-to-shell', 'Never pipe downloads into a shell',
     'curl or wget output piped to sh or bash', 'shell.exec', '*| *sh*', 'deny', 10, 'default');

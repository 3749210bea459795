-- 009 policy_rules + default seeds
-- Tool-use policy: for a tool call, the enabled rule with the lowest priority number whose
-- tool and pattern globs match decides. 'ask' prompts the user. ('deny' arrives in 042.)

CREATE TABLE IF NOT EXISTS policy_rules (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    description TEXT,
    tool        TEXT NOT NULL DEFAULT '*',
    pattern     TEXT NOT NULL DEFAULT '*',
    action      TEXT NOT NULL CHECK (action IN ('allow', 'ask')),
    priority    INTEGER NOT NULL DEFAULT 100 CHECK (priority >= 0),
    source      TEXT NOT NULL DEFAULT 'user' CHECK (source IN ('default', 'user', 'plugin')),
    created_at  TEXT NOT NULL DEFAULT (datetime('now')),
    updated_at  TEXT NOT NULL DEFAULT (datetime('now'))
);

CREATE INDEX IF NOT EXISTS idx_policy_rules_tool ON policy_rules(tool, priority);

-- Default rules have fixed ids, so a user's edits to them survive and a re-run adds nothing.
INSERT OR IGNORE INTO policy_rules (id, name, description, tool, pattern, action, priority, source) VALUES
    ('default:fs-read', 'Read files', 'Reading files inside the workspace', 'fs.read', '*', 'allow', 50, 'default'),
    ('default:fs-list', 'List directories', 'Listing directories inside the workspace', 'fs.list', '*', 'allow', 50, 'default'),
    ('default:fs-write', 'Write files', 'Creating or modifying files', 'fs.write', '*', 'ask', 50, 'default'),
    ('default:shell', 'Run shell commands', 'Any shell command', 'shell.exec', '*', 'ask', 50, 'default'),
    ('default:http', 'Network access', 'Outbound HTTP requests', 'http.fetch', '*', 'ask', 50, 'default'),
    ('default:memory', 'Use memory', 'Reading and writing the agent''s own memory', 'memory.*', '*', 'allow', 50, 'default'),
    ('default:fallback', 'Everything else', 'Catch-all: ask before any other tool', '*', '*', 'ask', 1000, 'default');

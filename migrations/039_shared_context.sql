-- 039 shared context between agents
-- A shared context is a small key/value blackboard that cooperating agents (a parent and
-- its sub-agents, or a swarm) read and write. Writers use optimistic concurrency: an
-- update must bump version, so a writer holding a stale copy fails instead of clobbering.

CREATE TABLE IF NOT EXISTS shared_contexts (
    id              TEXT PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    owner_agent_id  TEXT NOT NULL,
    scope           TEXT NOT NULL DEFAULT 'session_tree' CHECK (scope IN ('session_tree', 'swarm', 'global')),
    root_session_id TEXT,
    created_at      TEXT NOT NULL DEFAULT (datetime('now')),
    expires_at      TEXT
);

CREATE INDEX IF NOT EXISTS idx_shared_contexts_root ON shared_contexts(root_session_id) WHERE root_session_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_shared_contexts_expiry ON shared_contexts(expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS shared_context_entries (
    context_id          TEXT NOT NULL REFERENCES shared_contexts(id) ON DELETE CASCADE,
    key                 TEXT NOT NULL,
    value               TEXT NOT NULL CHECK (json_valid(value)),
    version             INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    written_by_agent_id TEXT NOT NULL,
    updated_at          TEXT NOT NULL DEFAULT (datetime('now')),
    PRIMARY KEY (context_id, key)
) WITHOUT ROWID;

CREATE TRIGGER IF NOT EXISTS trg_shared_context_entries_version
BEFORE UPDATE OF value ON shared_context_entries
WHEN NEW.version <> OLD.version + 1
BEGIN
    SELECT RAISE(ABORT, 'shared context entry changed concurrently: update with version = version + 1');
END;

CREATE TABLE IF NOT EXISTS shared_context_subscribers (
    context_id TEXT NOT NULL REFERENCES shared_contexts(id) ON DELETE CASCADE,
    agent_id   TEXT NOT NULL,
    access     TEXT NOT NULL DEFAULT 'read' CHECK (access IN ('read', 'write')),
    joined_at  TEXT NOT NULL DEFAULT (datetime('now')),
    PRIMARY KEY (context_id, agent_id)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS idx_shared_context_subscribers_agent ON shared_context_subscribers(agent_id);

-- 015 distributed node registry
-- Machines that run agents and jobs for this installation. A node heartbeats while online.

CREATE TABLE IF NOT EXISTS nodes (
    id                TEXT PRIMARY KEY NOT NULL,
    hostname          TEXT NOT NULL,
    address           TEXT NOT NULL,
    role              TEXT NOT NULL DEFAULT 'worker' CHECK (role IN ('primary', 'worker', 'edge')),
    status            TEXT NOT NULL DEFAULT 'offline'
                      CHECK (status IN ('online', 'offline', 'draining', 'quarantined')),
    version           TEXT,
    capabilities      TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(capabilities)),
    public_key        TEXT,
    last_heartbeat_at TEXT,
    registered_at     TEXT NOT NULL DEFAULT (datetime('now'))
);

-- Two registrations for one address are the same machine.
CREATE UNIQUE INDEX IF NOT EXISTS ux_nodes_address ON nodes(address);
-- The liveness sweep only looks at online nodes.
CREATE INDEX IF NOT EXISTS idx_nodes_heartbeat ON nodes(last_heartbeat_at) WHERE status = 'online';

CREATE TABLE IF NOT EXISTS node_labels (
    node_id TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    label   TEXT NOT NULL,
    value   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (node_id, label)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS idx_node_labels_label ON node_labels(label, value);

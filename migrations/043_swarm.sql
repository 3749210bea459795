-- 043 swarm directives, resource snapshots, node metrics
-- The coordinator sends directives to nodes (or to all: target NULL); nodes report their
-- resources periodically and per-minute metric buckets.

CREATE TABLE IF NOT EXISTS swarm_directives (
    id              TEXT PRIMARY KEY NOT NULL,
    issued_by       TEXT NOT NULL,
    target_node_id  TEXT REFERENCES nodes(id) ON DELETE CASCADE,
    directive       TEXT NOT NULL
                    CHECK (directive IN ('drain', 'resume', 'rebalance', 'shutdown', 'update', 'run_job')),
    payload         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(payload)),
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'acknowledged', 'completed', 'failed', 'expired')),
    error           TEXT,
    issued_at       TEXT NOT NULL DEFAULT (datetime('now')),
    acknowledged_at TEXT,
    completed_at    TEXT,
    expires_at      TEXT
);

-- What a node polls for: its pending directives, oldest first.
CREATE INDEX IF NOT EXISTS idx_swarm_directives_pending ON swarm_directives(target_node_id, issued_at)
    WHERE status = 'pending';

CREATE TABLE IF NOT EXISTS swarm_resource_snapshots (
    id              INTEGER PRIMARY KEY,
    node_id         TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    taken_at        TEXT NOT NULL DEFAULT (datetime('now')),
    cpu_cores       INTEGER CHECK (cpu_cores IS NULL OR cpu_cores > 0),
    cpu_load        REAL CHECK (cpu_load IS NULL OR cpu_load >= 0),
    memory_total_mb INTEGER CHECK (memory_total_mb IS NULL OR memory_total_mb >= 0),
    memory_free_mb  INTEGER CHECK (memory_free_mb IS NULL OR memory_free_mb >= 0),
    disk_free_mb    INTEGER CHECK (disk_free_mb IS NULL OR disk_free_mb >= 0),
    gpus            TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(gpus)),
    running_jobs    INTEGER NOT NULL DEFAULT 0 CHECK (running_jobs >= 0),
    active_sessions INTEGER NOT NULL DEFAULT 0 CHECK (active_sessions >= 0)
);

CREATE INDEX IF NOT EXISTS idx_swarm_resource_snapshots_node ON swarm_resource_snapshots(node_id, taken_at);

-- Per-minute buckets (bucket_start in unix seconds); small, hot rows keyed by their identity.
CREATE TABLE IF NOT EXISTS node_metrics (
    node_id      TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    metric       TEXT NOT NULL,
    bucket_start INTEGER NOT NULL CHECK (bucket_start % 60 = 0),
    count        INTEGER NOT NULL DEFAULT 0 CHECK (count >= 0),
    sum          REAL NOT NULL DEFAULT 0,
    min          REAL,
    max          REAL,
    PRIMARY KEY (node_id, metric, bucket_start)
) WITHOUT ROWID;

-- Each node with its latest resource snapshot.
CREATE VIEW IF NOT EXISTS v_swarm_node_status AS
SELECT
    n.id                AS node_id,
    n.hostname          AS hostname,
    n.status            AS status,
    n.last_heartbeat_at AS last_heartbeat_at,
    s.taken_at          AS snapshot_at,
    s.cpu_load          AS cpu_load,
    s.memory_free_mb    AS memory_free_mb,
    s.running_jobs      AS running_jobs,
    s.active_sessions   AS active_sessions
FROM nodes AS n
LEFT JOIN swarm_resource_snapshots AS s
       ON s.id = (SELECT x.id FROM swarm_resource_snapshots AS x
                   WHERE x.node_id = n.id ORDER BY x.taken_at DESC, x.id DESC LIMIT 1);

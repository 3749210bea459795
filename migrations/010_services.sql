-- 010 micro-service definitions
-- Long-running helper services (processes, containers, HTTP endpoints, MCP servers) that the
-- platform starts, health-checks and restarts.

CREATE TABLE IF NOT EXISTS services (
    id               TEXT PRIMARY KEY NOT NULL,
    name             TEXT NOT NULL UNIQUE,
    kind             TEXT NOT NULL CHECK (kind IN ('process', 'container', 'http', 'mcp')),
    command          TEXT,
    image            TEXT,
    url              TEXT,
    env              TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(env)),
    port             INTEGER CHECK (port IS NULL OR port BETWEEN 1 AND 65535),
    health_check_url TEXT,
    restart_policy   TEXT NOT NULL DEFAULT 'on-failure'
                     CHECK (restart_policy IN ('never', 'on-failure', 'always')),
    enabled          INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    status           TEXT NOT NULL DEFAULT 'stopped'
                     CHECK (status IN ('stopped', 'starting', 'running', 'unhealthy', 'failed')),
    created_at       TEXT NOT NULL DEFAULT (datetime('now')),
    updated_at       TEXT NOT NULL DEFAULT (datetime('now')),
    -- something must say how to reach or start it
    CHECK (command IS NOT NULL OR image IS NOT NULL OR url IS NOT NULL)
);

-- Start order. A pure pair table: WITHOUT ROWID stores it as just its primary key.
CREATE TABLE IF NOT EXISTS service_dependencies (
    service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    depends_on TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    PRIMARY KEY (service_id, depends_on),
    CHECK (service_id <> depends_on)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS idx_service_dependencies_reverse ON service_dependencies(depends_on);

-- The supervisor only looks at enabled services.
CREATE INDEX IF NOT EXISTS idx_services_enabled_status ON services(status) WHERE enabled = 1;

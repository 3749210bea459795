-- 012 enhanced plugin columns
-- What a plugin provides and how it runs, its user configuration (validated against the
-- plugin's JSON schema by the host), and load bookkeeping.

ALTER TABLE plugins ADD COLUMN IF NOT EXISTS kind TEXT NOT NULL DEFAULT 'tool'
    CHECK (kind IN ('tool', 'channel', 'provider', 'memory', 'ui', 'workflow'));
ALTER TABLE plugins ADD COLUMN IF NOT EXISTS runtime TEXT NOT NULL DEFAULT 'deno'
    CHECK (runtime IN ('deno', 'wasm', 'process', 'mcp'));
ALTER TABLE plugins ADD COLUMN IF NOT EXISTS config TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(config));
ALTER TABLE plugins ADD COLUMN IF NOT EXISTS config_schema TEXT
    CHECK (config_schema IS NULL OR json_valid(config_schema));
ALTER TABLE plugins ADD COLUMN IF NOT EXISTS tags TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags));
ALTER TABLE plugins ADD COLUMN IF NOT EXISTS min_cortex_version TEXT;
ALTER TABLE plugins ADD COLUMN IF NOT EXISTS load_count INTEGER NOT NULL DEFAULT 0 CHECK (load_count >= 0);
ALTER TABLE plugins ADD COLUMN IF NOT EXISTS last_loaded_at TEXT;
ALTER TABLE plugins ADD COLUMN IF NOT EXISTS last_error TEXT;

CREATE INDEX IF NOT EXISTS idx_plugins_kind ON plugins(kind, enabled);

-- What the host loads at start: enabled plugins with their active version's entrypoint.
CREATE VIEW IF NOT EXISTS v_plugins_active AS
SELECT
    p.id             AS plugin_id,
    p.name           AS name,
    p.kind           AS kind,
    p.runtime        AS runtime,
    p.trust_level    AS trust_level,
    p.active_version AS version,
    v.entrypoint     AS entrypoint,
    v.integrity      AS integrity,
    p.config         AS config
FROM plugins AS p
JOIN plugin_versions AS v ON v.plugin_id = p.id AND v.version = p.active_version
WHERE p.enabled = 1;

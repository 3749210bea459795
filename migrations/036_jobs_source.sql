-- 036 jobs source tracking (ui, cli, seed, tool)
-- Where a job came from. NULL means it predates this migration: its origin is unknown.

ALTER TABLE jobs ADD COLUMN IF NOT EXISTS source TEXT
    CHECK (source IS NULL OR source IN ('ui', 'cli', 'seed', 'tool'));
-- e.g. the CLI command line, or the name of the tool that scheduled it
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS source_ref TEXT;

CREATE INDEX IF NOT EXISTS idx_jobs_source ON jobs(source, created_at) WHERE source IS NOT NULL;

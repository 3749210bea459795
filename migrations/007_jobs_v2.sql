-- 007 job scheduler columns
-- Jobs become schedulable (one-off, interval or cron) and lockable by a worker, so several
-- processes can poll the same queue. Added columns are nullable or have constant defaults.

ALTER TABLE jobs ADD COLUMN IF NOT EXISTS schedule_kind TEXT NOT NULL DEFAULT 'once'
    CHECK (schedule_kind IN ('once', 'interval', 'cron'));
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS cron_expr TEXT;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS interval_seconds INTEGER
    CHECK (interval_seconds IS NULL OR interval_seconds > 0);
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS next_run_at TEXT;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS last_run_at TEXT;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS max_attempts INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts > 0);
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS locked_by TEXT;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS locked_until TEXT;

-- Pending jobs created before the scheduler existed are due now.
UPDATE jobs SET next_run_at = created_at WHERE next_run_at IS NULL AND status = 'pending';

-- The scheduler's poll: due jobs of a status, by time.
CREATE INDEX IF NOT EXISTS idx_jobs_due ON jobs(status, next_run_at);

-- One row per execution attempt. Superseded by job_runs (031).
CREATE TABLE IF NOT EXISTS job_history (
    id          INTEGER PRIMARY KEY,
    job_id      TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    started_at  TEXT NOT NULL DEFAULT (datetime('now')),
    finished_at TEXT,
    status      TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
    error       TEXT
);

CREATE INDEX IF NOT EXISTS idx_job_history_job ON job_history(job_id, started_at);

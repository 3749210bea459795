-- 031 job runs tracking
-- One row per execution of a job, with where it ran and what it produced. Replaces
-- job_history (007): its rows are copied here, and 041 drops it.

CREATE TABLE IF NOT EXISTS job_runs (
    id                INTEGER PRIMARY KEY,
    job_id            TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    attempt           INTEGER NOT NULL DEFAULT 1 CHECK (attempt >= 1),
    node_id           TEXT REFERENCES nodes(id) ON DELETE SET NULL,
    status            TEXT NOT NULL
                      CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled', 'timed_out')),
    started_at        TEXT NOT NULL DEFAULT (datetime('now')),
    finished_at       TEXT,
    exit_code         INTEGER,
    output            TEXT,
    error             TEXT,
    -- the job_history row this was copied from; UNIQUE makes the copy below run-twice safe
    legacy_history_id INTEGER UNIQUE,
    CHECK (finished_at IS NULL OR finished_at >= started_at)
);

CREATE INDEX IF NOT EXISTS idx_job_runs_job ON job_runs(job_id, started_at);
CREATE INDEX IF NOT EXISTS idx_job_runs_running ON job_runs(started_at) WHERE status = 'running';

INSERT OR IGNORE INTO job_runs (job_id, status, started_at, finished_at, error, legacy_history_id)
SELECT job_id, status, started_at, finished_at, error, id
  FROM job_history;

CREATE VIEW IF NOT EXISTS v_job_last_run AS
SELECT
    j.id          AS job_id,
    j.name        AS name,
    j.status      AS job_status,
    r.id          AS run_id,
    r.status      AS run_status,
    r.started_at  AS started_at,
    r.finished_at AS finished_at
FROM jobs AS j
LEFT JOIN job_runs AS r
       ON r.id = (SELECT x.id FROM job_runs AS x WHERE x.job_id = j.id ORDER BY x.started_at DESC, x.id DESC LIMIT 1);

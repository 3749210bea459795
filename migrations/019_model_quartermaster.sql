-- 019 Model Quartermaster (MQM)
-- The model-side counterpart of 018: which model to route a kind of task to, learned from
-- success rate, latency and cost; every routing decision is kept for later scoring.

CREATE TABLE IF NOT EXISTS mqm_models (
    id                   TEXT PRIMARY KEY NOT NULL,
    provider             TEXT NOT NULL,
    model                TEXT NOT NULL,
    context_window       INTEGER CHECK (context_window IS NULL OR context_window > 0),
    input_cost_per_mtok  REAL CHECK (input_cost_per_mtok IS NULL OR input_cost_per_mtok >= 0),
    output_cost_per_mtok REAL CHECK (output_cost_per_mtok IS NULL OR output_cost_per_mtok >= 0),
    supports_tools       INTEGER NOT NULL DEFAULT 0 CHECK (supports_tools IN (0, 1)),
    supports_vision      INTEGER NOT NULL DEFAULT 0 CHECK (supports_vision IN (0, 1)),
    enabled              INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at           TEXT NOT NULL DEFAULT (datetime('now'))
);

CREATE UNIQUE INDEX IF NOT EXISTS ux_mqm_models_provider_model ON mqm_models(provider, model);

CREATE TABLE IF NOT EXISTS mqm_task_scores (
    model_id       TEXT NOT NULL REFERENCES mqm_models(id) ON DELETE CASCADE,
    task_kind      TEXT NOT NULL,
    samples        INTEGER NOT NULL DEFAULT 0 CHECK (samples >= 0),
    success_rate   REAL NOT NULL DEFAULT 0.0 CHECK (success_rate BETWEEN 0.0 AND 1.0),
    avg_latency_ms REAL CHECK (avg_latency_ms IS NULL OR avg_latency_ms >= 0),
    avg_cost_usd   REAL CHECK (avg_cost_usd IS NULL OR avg_cost_usd >= 0),
    quality_score  REAL CHECK (quality_score IS NULL OR quality_score BETWEEN 0.0 AND 1.0),
    updated_at     TEXT NOT NULL DEFAULT (datetime('now')),
    PRIMARY KEY (model_id, task_kind)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS idx_mqm_task_scores_task ON mqm_task_scores(task_kind, success_rate);

-- A model with recorded decisions cannot be deleted (disable it instead): no ON DELETE action.
CREATE TABLE IF NOT EXISTS mqm_decisions (
    id              INTEGER PRIMARY KEY,
    session_id      TEXT REFERENCES sessions(id) ON DELETE SET NULL,
    turn_id         INTEGER REFERENCES turns(id) ON DELETE SET NULL,
    task_kind       TEXT NOT NULL,
    chosen_model_id TEXT NOT NULL REFERENCES mqm_models(id),
    candidates      TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(candidates)),
    reason          TEXT,
    outcome         TEXT CHECK (outcome IS NULL OR outcome IN ('success', 'failure', 'fallback')),
    created_at      TEXT NOT NULL DEFAULT (datetime('now'))
);

CREATE INDEX IF NOT EXISTS idx_mqm_decisions_model ON mqm_decisions(chosen_model_id, created_at);
-- Decisions still waiting for their outcome to be scored.
CREATE INDEX IF NOT EXISTS idx_mqm_decisions_unscored ON mqm_decisions(created_at) WHERE outcome IS NULL;

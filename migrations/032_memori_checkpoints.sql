-- 032 memori conversation checkpoints
-- Memori folds a long conversation into checkpoints: a summary plus extracted state up to a
-- turn, so the context can be rebuilt without replaying every turn.

CREATE TABLE IF NOT EXISTS memori_checkpoints (
    id               TEXT PRIMARY KEY NOT NULL,
    session_id       TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    through_turn_seq INTEGER NOT NULL CHECK (through_turn_seq >= 0),
    summary          TEXT NOT NULL,
    state            TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(state)),
    token_count      INTEGER NOT NULL DEFAULT 0 CHECK (token_count >= 0),
    -- ids of memory.db rows written from this checkpoint (another file, so no foreign key)
    memory_refs      TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(memory_refs)),
    created_at       TEXT NOT NULL DEFAULT (datetime('now'))
);

-- At most one checkpoint per position; the latest is the one with the highest seq.
CREATE UNIQUE INDEX IF NOT EXISTS ux_memori_checkpoints_session_seq
    ON memori_checkpoints(session_id, through_turn_seq);

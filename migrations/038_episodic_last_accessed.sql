-- 038 episodic memory last accessed tracking
-- Recall strengthens a memory: the forgetting pass ranks by last access, not by age.
-- (These columns are not in the updated_at trigger of 020: reading is not editing.)

ALTER TABLE episodic_memories ADD COLUMN IF NOT EXISTS last_accessed_at TEXT;
ALTER TABLE episodic_memories ADD COLUMN IF NOT EXISTS access_count INTEGER NOT NULL DEFAULT 0
    CHECK (access_count >= 0);

CREATE INDEX IF NOT EXISTS idx_episodic_last_accessed ON episodic_memories(last_accessed_at);

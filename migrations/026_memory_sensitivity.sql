-- 026 memory sensitivity classification
-- The levels of 025 (public < internal < confidential < restricted) on the memory tiers.
-- cortex.db's sensitivity_levels table is in another file, hence the CHECK lists.

ALTER TABLE episodic_memories ADD COLUMN IF NOT EXISTS sensitivity TEXT NOT NULL DEFAULT 'internal'
    CHECK (sensitivity IN ('public', 'internal', 'confidential', 'restricted'));
ALTER TABLE semantic_memories ADD COLUMN IF NOT EXISTS sensitivity TEXT NOT NULL DEFAULT 'internal'
    CHECK (sensitivity IN ('public', 'internal', 'confidential', 'restricted'));
ALTER TABLE reflections ADD COLUMN IF NOT EXISTS sensitivity TEXT NOT NULL DEFAULT 'internal'
    CHECK (sensitivity IN ('public', 'internal', 'confidential', 'restricted'));
ALTER TABLE graph_entities ADD COLUMN IF NOT EXISTS sensitivity TEXT NOT NULL DEFAULT 'internal'
    CHECK (sensitivity IN ('public', 'internal', 'confidential', 'restricted'));

-- Retrieval for an untrusted model filters these out; the lists are short.
CREATE INDEX IF NOT EXISTS idx_episodic_sensitive ON episodic_memories(sensitivity)
    WHERE sensitivity IN ('confidential', 'restricted');
CREATE INDEX IF NOT EXISTS idx_semantic_sensitive ON semantic_memories(sensitivity)
    WHERE sensitivity IN ('confidential', 'restricted');

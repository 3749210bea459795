-- 046 memory table user/team scoping columns
-- Owner and team on the memory tiers. Users and teams live in cortex.db (044), another file,
-- so these are plain columns without foreign keys. Existing memories belong to the 'local'
-- owner of the single-user era; visibility says who else may recall a memory.

ALTER TABLE episodic_memories ADD COLUMN IF NOT EXISTS owner_user_id TEXT;
ALTER TABLE episodic_memories ADD COLUMN IF NOT EXISTS team_id TEXT;
ALTER TABLE episodic_memories ADD COLUMN IF NOT EXISTS visibility TEXT NOT NULL DEFAULT 'private'
    CHECK (visibility IN ('private', 'team', 'shared'));
ALTER TABLE semantic_memories ADD COLUMN IF NOT EXISTS owner_user_id TEXT;
ALTER TABLE semantic_memories ADD COLUMN IF NOT EXISTS team_id TEXT;
ALTER TABLE semantic_memories ADD COLUMN IF NOT EXISTS visibility TEXT NOT NULL DEFAULT 'private'
    CHECK (visibility IN ('private', 'team', 'shared'));
ALTER TABLE reflections ADD COLUMN IF NOT EXISTS owner_user_id TEXT;
ALTER TABLE reflections ADD COLUMN IF NOT EXISTS team_id TEXT;
ALTER TABLE graph_entities ADD COLUMN IF NOT EXISTS owner_user_id TEXT;
ALTER TABLE graph_entities ADD COLUMN IF NOT EXISTS team_id TEXT;
ALTER TABLE skills ADD COLUMN IF NOT EXISTS owner_user_id TEXT;
ALTER TABLE skills ADD COLUMN IF NOT EXISTS team_id TEXT;
ALTER TABLE shared_contexts ADD COLUMN IF NOT EXISTS team_id TEXT;

UPDATE episodic_memories SET owner_user_id = 'local' WHERE owner_user_id IS NULL;
UPDATE semantic_memories SET owner_user_id = 'local' WHERE owner_user_id IS NULL;
UPDATE reflections SET owner_user_id = 'local' WHERE owner_user_id IS NULL;
UPDATE graph_entities SET owner_user_id = 'local' WHERE owner_user_id IS NULL;
UPDATE skills SET owner_user_id = 'local' WHERE owner_user_id IS NULL;

CREATE INDEX IF NOT EXISTS idx_episodic_owner ON episodic_memories(owner_user_id, occurred_at);
CREATE INDEX IF NOT EXISTS idx_episodic_team ON episodic_memories(team_id) WHERE team_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_semantic_owner ON semantic_memories(owner_user_id);
CREATE INDEX IF NOT EXISTS idx_semantic_team ON semantic_memories(team_id) WHERE team_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_reflections_owner ON reflections(owner_user_id);
CREATE INDEX IF NOT EXISTS idx_graph_entities_owner ON graph_entities(owner_user_id);
CREATE INDEX IF NOT EXISTS idx_skills_owner ON skills(owner_user_id);
CREATE INDEX IF NOT EXISTS idx_skills_team ON skills(team_id) WHERE team_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_shared_contexts_team ON shared_contexts(team_id) WHERE team_id IS NOT NULL;

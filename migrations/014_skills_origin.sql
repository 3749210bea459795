-- 014 skills origin tracking
-- Where a skill came from: written by the user, learned from a session, shipped by a plugin,
-- imported from a file or URL, or built in. origin_ref is the plugin id, URL or session id.

ALTER TABLE skills ADD COLUMN IF NOT EXISTS origin TEXT NOT NULL DEFAULT 'user'
    CHECK (origin IN ('user', 'learned', 'plugin', 'imported', 'builtin'));
ALTER TABLE skills ADD COLUMN IF NOT EXISTS origin_ref TEXT;
ALTER TABLE skills ADD COLUMN IF NOT EXISTS learned_from_episode_id INTEGER
    REFERENCES episodic_memories(id) ON DELETE SET NULL;

CREATE INDEX IF NOT EXISTS idx_skills_origin ON skills(origin, origin_ref);

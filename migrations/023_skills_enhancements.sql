-- 023 skills lifecycle, trust, health, deps, embedding
-- Skills move through a lifecycle, carry a trust level (plugins and imports start lower than
-- the user's own), are health-checked by running their examples, may depend on other
-- skills, and get an embedding for retrieval.

ALTER TABLE skills ADD COLUMN IF NOT EXISTS lifecycle TEXT NOT NULL DEFAULT 'active'
    CHECK (lifecycle IN ('draft', 'active', 'deprecated', 'retired'));
ALTER TABLE skills ADD COLUMN IF NOT EXISTS trust_level TEXT NOT NULL DEFAULT 'trusted'
    CHECK (trust_level IN ('untrusted', 'community', 'verified', 'trusted'));
ALTER TABLE skills ADD COLUMN IF NOT EXISTS deprecated_by INTEGER REFERENCES skills(id) ON DELETE SET NULL;
ALTER TABLE skills ADD COLUMN IF NOT EXISTS health_score REAL
    CHECK (health_score IS NULL OR health_score BETWEEN 0.0 AND 1.0);
ALTER TABLE skills ADD COLUMN IF NOT EXISTS failure_streak INTEGER NOT NULL DEFAULT 0 CHECK (failure_streak >= 0);
ALTER TABLE skills ADD COLUMN IF NOT EXISTS last_health_check_at TEXT;
ALTER TABLE skills ADD COLUMN IF NOT EXISTS embedding BLOB;
ALTER TABLE skills ADD COLUMN IF NOT EXISTS embedding_model TEXT;

-- Skills that did not come from the user are not trusted just because they exist.
UPDATE skills SET trust_level = 'untrusted'
 WHERE origin IN ('plugin', 'imported') AND trust_level = 'trusted';

CREATE TABLE IF NOT EXISTS skill_dependencies (
    skill_id           INTEGER NOT NULL REFERENCES skills(id) ON DELETE CASCADE,
    depends_on_id      INTEGER NOT NULL REFERENCES skills(id) ON DELETE CASCADE,
    version_constraint TEXT,
    optional           INTEGER NOT NULL DEFAULT 0 CHECK (optional IN (0, 1)),
    PRIMARY KEY (skill_id, depends_on_id),
    CHECK (skill_id <> depends_on_id)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS idx_skill_dependencies_reverse ON skill_dependencies(depends_on_id);

CREATE TABLE IF NOT EXISTS skill_health_checks (
    id         INTEGER PRIMARY KEY,
    skill_id   INTEGER NOT NULL REFERENCES skills(id) ON DELETE CASCADE,
    status     TEXT NOT NULL CHECK (status IN ('pass', 'warn', 'fail')),
    details    TEXT,
    checked_at TEXT NOT NULL DEFAULT (datetime('now'))
);

CREATE INDEX IF NOT EXISTS idx_skill_health_checks_skill ON skill_health_checks(skill_id, checked_at);

-- Retrieval only considers active skills; the embedder only those without a vector.
CREATE INDEX IF NOT EXISTS idx_skills_active ON skills(trust_level, health_score) WHERE lifecycle = 'active';
CREATE INDEX IF NOT EXISTS idx_skills_unembedded ON skills(id) WHERE embedding IS NULL;

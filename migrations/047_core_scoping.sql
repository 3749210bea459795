-- 047 resource table user/team scoping columns
-- Owner and team on the resources of cortex.db. A REFERENCES column can only be added with a
-- NULL default, so existing rows are assigned to the 'local' owner (044) by an UPDATE
-- (unless an admin has deleted that user since).
-- team_id NULL means "not shared with a team"; on policy_rules it means "all teams".

ALTER TABLE sessions ADD COLUMN IF NOT EXISTS owner_user_id TEXT REFERENCES users(id) ON DELETE SET NULL;
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS team_id TEXT REFERENCES teams(id) ON DELETE SET NULL;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS owner_user_id TEXT REFERENCES users(id) ON DELETE SET NULL;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS team_id TEXT REFERENCES teams(id) ON DELETE SET NULL;
ALTER TABLE services ADD COLUMN IF NOT EXISTS owner_user_id TEXT REFERENCES users(id) ON DELETE SET NULL;
ALTER TABLE services ADD COLUMN IF NOT EXISTS team_id TEXT REFERENCES teams(id) ON DELETE SET NULL;
ALTER TABLE channels ADD COLUMN IF NOT EXISTS team_id TEXT REFERENCES teams(id) ON DELETE SET NULL;
ALTER TABLE policy_rules ADD COLUMN IF NOT EXISTS team_id TEXT REFERENCES teams(id) ON DELETE CASCADE;
ALTER TABLE workspace_type_assignments ADD COLUMN IF NOT EXISTS owner_user_id TEXT REFERENCES users(id) ON DELETE SET NULL;

UPDATE sessions SET owner_user_id = 'local'
 WHERE owner_user_id IS NULL AND EXISTS (SELECT 1 FROM users WHERE id = 'local');
UPDATE jobs SET owner_user_id = 'local'
 WHERE owner_user_id IS NULL AND EXISTS (SELECT 1 FROM users WHERE id = 'local');
UPDATE services SET owner_user_id = 'local'
 WHERE owner_user_id IS NULL AND EXISTS (SELECT 1 FROM users WHERE id = 'local');

CREATE INDEX IF NOT EXISTS idx_sessions_owner ON sessions(owner_user_id, updated_at);
CREATE INDEX IF NOT EXISTS idx_sessions_team ON sessions(team_id, updated_at) WHERE team_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_jobs_owner ON jobs(owner_user_id);
CREATE INDEX IF NOT EXISTS idx_jobs_team ON jobs(team_id) WHERE team_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_services_team ON services(team_id) WHERE team_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_channels_team ON channels(team_id) WHERE team_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_policy_rules_team ON policy_rules(team_id) WHERE team_id IS NOT NULL;

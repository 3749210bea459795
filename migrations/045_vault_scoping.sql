-- 045 vault entry owner scoping columns
-- Vault entries belong to a user, a team or the system. Users and teams live in cortex.db
-- (044), another file, so these are plain columns. Existing entries belong to the 'local'
-- owner. Names were unique in the whole vault; now they are unique per owner.

ALTER TABLE vault_entries ADD COLUMN IF NOT EXISTS scope TEXT NOT NULL DEFAULT 'user'
    CHECK (scope IN ('user', 'team', 'system'));
ALTER TABLE vault_entries ADD COLUMN IF NOT EXISTS owner_user_id TEXT;
ALTER TABLE vault_entries ADD COLUMN IF NOT EXISTS team_id TEXT;
ALTER TABLE access_log ADD COLUMN IF NOT EXISTS user_id TEXT;

UPDATE vault_entries SET owner_user_id = 'local' WHERE owner_user_id IS NULL AND scope = 'user';

-- Superseded by the per-owner index below (it would forbid two users their own 'github').
DROP INDEX IF EXISTS ux_vault_entries_name;
CREATE UNIQUE INDEX IF NOT EXISTS ux_vault_entries_owner_name
    ON vault_entries(scope, coalesce(team_id, owner_user_id, ''), name);

CREATE INDEX IF NOT EXISTS idx_vault_entries_owner ON vault_entries(owner_user_id) WHERE owner_user_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_vault_entries_team ON vault_entries(team_id) WHERE team_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_access_log_user ON access_log(user_id, ts) WHERE user_id IS NOT NULL;

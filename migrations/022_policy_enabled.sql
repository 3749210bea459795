-- 022 policy enabled flag
-- Rules can be switched off without deleting them (defaults are re-seeded by id otherwise).

ALTER TABLE policy_rules ADD COLUMN IF NOT EXISTS enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1));
ALTER TABLE policy_rules ADD COLUMN IF NOT EXISTS disabled_reason TEXT;

-- Policy evaluation reads only enabled rules, per tool, by priority.
CREATE INDEX IF NOT EXISTS idx_policy_rules_enabled ON policy_rules(tool, priority) WHERE enabled = 1;

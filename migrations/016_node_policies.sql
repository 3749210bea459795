-- 016 per-node policy rules
-- A rule is either global or scoped to the nodes listed in node_policies.

ALTER TABLE policy_rules ADD COLUMN IF NOT EXISTS scope TEXT NOT NULL DEFAULT 'global'
    CHECK (scope IN ('global', 'node'));

CREATE INDEX IF NOT EXISTS idx_policy_rules_scope ON policy_rules(scope) WHERE scope <> 'global';

-- policy_rules is rebuilt by 042; it keeps the ids, so these references stay valid.
CREATE TABLE IF NOT EXISTS node_policies (
    node_id    TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    rule_id    TEXT NOT NULL REFERENCES policy_rules(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL DEFAULT (datetime('now')),
    PRIMARY KEY (node_id, rule_id)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS idx_node_policies_rule ON node_policies(rule_id);

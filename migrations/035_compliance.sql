-- 035 compliance metadata and audit records
-- Retention policies per category and sensitivity, legal holds that stop retention from
-- deleting events, and an immutable, hash-chained record of compliance actions (exports,
-- erasures, access reviews...).

ALTER TABLE lens_events ADD COLUMN IF NOT EXISTS compliance_tags TEXT NOT NULL DEFAULT '[]'
    CHECK (json_valid(compliance_tags));

CREATE TABLE IF NOT EXISTS retention_policies (
    id          TEXT PRIMARY KEY NOT NULL,
    category    TEXT NOT NULL DEFAULT '*',
    sensitivity TEXT NOT NULL DEFAULT '*',
    retain_days INTEGER NOT NULL CHECK (retain_days > 0),
    framework   TEXT,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- One policy per (category, sensitivity); '*' is the wildcard, the most specific one wins.
CREATE UNIQUE INDEX IF NOT EXISTS ux_retention_policies_scope ON retention_policies(category, sensitivity);

INSERT OR IGNORE INTO retention_policies (id, category, sensitivity, retain_days, framework) VALUES
    ('default', '*', '*', 365, NULL),
    ('security', 'security', '*', 730, 'soc2'),
    ('debug-metrics', 'metric', '*', 30, NULL);

CREATE TABLE IF NOT EXISTS legal_holds (
    id          TEXT PRIMARY KEY NOT NULL,
    reason      TEXT NOT NULL,
    session_id  TEXT,
    from_ts     TEXT,
    to_ts       TEXT,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    released_at TEXT,
    CHECK (from_ts IS NULL OR to_ts IS NULL OR from_ts <= to_ts)
);

CREATE INDEX IF NOT EXISTS idx_legal_holds_active ON legal_holds(session_id) WHERE released_at IS NULL;

-- Retention must not purge what a hold covers (NULL bounds are open).
CREATE TRIGGER IF NOT EXISTS trg_lens_events_legal_hold BEFORE DELETE ON lens_events
WHEN EXISTS (
    SELECT 1 FROM legal_holds AS h
     WHERE h.released_at IS NULL
       AND (h.session_id IS NULL OR h.session_id = OLD.session_id)
       AND (h.from_ts IS NULL OR OLD.ts >= h.from_ts)
       AND (h.to_ts IS NULL OR OLD.ts <= h.to_ts)
)
BEGIN
    SELECT RAISE(ABORT, 'lens event is under legal hold');
END;

CREATE TABLE IF NOT EXISTS compliance_audit_records (
    id          INTEGER PRIMARY KEY,
    ts          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    framework   TEXT NOT NULL,
    control_id  TEXT NOT NULL,
    action      TEXT NOT NULL
                CHECK (action IN ('export', 'erasure', 'access_review', 'retention_purge', 'policy_change', 'attestation')),
    actor       TEXT NOT NULL,
    subject     TEXT,
    outcome     TEXT NOT NULL CHECK (outcome IN ('success', 'failure', 'partial')),
    evidence    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(evidence)),
    -- sha256 over this record and prev_hash: editing or removing a record breaks the chain
    prev_hash   TEXT,
    record_hash TEXT NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS ux_compliance_audit_records_hash ON compliance_audit_records(record_hash);
CREATE INDEX IF NOT EXISTS idx_compliance_audit_records_control ON compliance_audit_records(framework, control_id, ts);

CREATE TRIGGER IF NOT EXISTS trg_compliance_audit_records_no_update BEFORE UPDATE ON compliance_audit_records
BEGIN
    SELECT RAISE(ABORT, 'compliance audit records are immutable');
END;

CREATE TRIGGER IF NOT EXISTS trg_compliance_audit_records_no_delete BEFORE DELETE ON compliance_audit_records
BEGIN
    SELECT RAISE(ABORT, 'compliance audit records are immutable');
END;

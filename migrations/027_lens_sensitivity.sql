-- 027 lens event sensitivity classification
-- The levels of 025 on audit events. Security events carry paths and attack payloads, so
-- the existing ones start out confidential; classified_by says which rule decided.

ALTER TABLE lens_events ADD COLUMN IF NOT EXISTS sensitivity TEXT NOT NULL DEFAULT 'internal'
    CHECK (sensitivity IN ('public', 'internal', 'confidential', 'restricted'));
ALTER TABLE lens_events ADD COLUMN IF NOT EXISTS redacted INTEGER NOT NULL DEFAULT 0 CHECK (redacted IN (0, 1));
ALTER TABLE lens_events ADD COLUMN IF NOT EXISTS classified_by TEXT;

-- Allowed by the append-only trigger of 003: these columns classify, they do not record.
UPDATE lens_events SET sensitivity = 'confidential', classified_by = 'migration:027'
 WHERE category = 'security' AND classified_by IS NULL;

CREATE INDEX IF NOT EXISTS idx_lens_events_sensitive ON lens_events(sensitivity, ts)
    WHERE sensitivity IN ('confidential', 'restricted');

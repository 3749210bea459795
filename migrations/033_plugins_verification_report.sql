-- 033 plugin supply chain verification reports
-- Before a plugin version is enabled, the verifier checks its signature, its integrity
-- digest against the download, its provenance attestation and its SBOM. Each run leaves
-- a report; the latest verdict is mirrored on the version.

CREATE TABLE IF NOT EXISTS plugin_verification_reports (
    id              INTEGER PRIMARY KEY,
    plugin_id       TEXT NOT NULL,
    version         TEXT NOT NULL,
    verifier        TEXT NOT NULL,
    verdict         TEXT NOT NULL CHECK (verdict IN ('pass', 'warn', 'fail')),
    signature_valid INTEGER CHECK (signature_valid IS NULL OR signature_valid IN (0, 1)),
    signer          TEXT,
    integrity_match INTEGER CHECK (integrity_match IS NULL OR integrity_match IN (0, 1)),
    -- summary of the SLSA / in-toto provenance statement
    provenance      TEXT CHECK (provenance IS NULL OR json_valid(provenance)),
    sbom            TEXT CHECK (sbom IS NULL OR json_valid(sbom)),
    findings        TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(findings)),
    verified_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    FOREIGN KEY (plugin_id, version) REFERENCES plugin_versions(plugin_id, version) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_plugin_verification_reports_version
    ON plugin_verification_reports(plugin_id, version, verified_at);
CREATE INDEX IF NOT EXISTS idx_plugin_verification_reports_failed
    ON plugin_verification_reports(verified_at) WHERE verdict = 'fail';

ALTER TABLE plugin_versions ADD COLUMN IF NOT EXISTS verification_status TEXT NOT NULL DEFAULT 'unverified'
    CHECK (verification_status IN ('unverified', 'verified', 'warning', 'rejected'));

CREATE TRIGGER IF NOT EXISTS trg_plugin_verification_status AFTER INSERT ON plugin_verification_reports
BEGIN
    UPDATE plugin_versions
       SET verification_status = CASE NEW.verdict
                                     WHEN 'pass' THEN 'verified'
                                     WHEN 'warn' THEN 'warning'
                                     ELSE 'rejected'
                                 END
     WHERE plugin_id = NEW.plugin_id AND version = NEW.version;
END;

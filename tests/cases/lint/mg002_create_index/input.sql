CREATE INDEX idx_jobs_state ON jobs (state);
CREATE UNIQUE INDEX idx_nodes_name ON nodes (name) WHERE name IS NOT NULL;
Create Index idx_title_case ON t (a);

-- 024 code graph tables (nodes, edges, communities)
-- A structural index of workspace code: symbols (files, classes, functions...) as nodes,
-- contains/imports/calls/... as edges, and clusters of closely linked nodes as communities.

CREATE TABLE IF NOT EXISTS codegraph_communities (
    id             INTEGER PRIMARY KEY,
    workspace_path TEXT NOT NULL,
    label          TEXT,
    algorithm      TEXT NOT NULL DEFAULT 'louvain',
    modularity     REAL,
    size           INTEGER NOT NULL DEFAULT 0 CHECK (size >= 0),
    summary        TEXT,
    computed_at    TEXT NOT NULL DEFAULT (datetime('now'))
);

CREATE INDEX IF NOT EXISTS idx_codegraph_communities_workspace ON codegraph_communities(workspace_path);

CREATE TABLE IF NOT EXISTS codegraph_nodes (
    id             INTEGER PRIMARY KEY,
    workspace_path TEXT NOT NULL,
    kind           TEXT NOT NULL
                   CHECK (kind IN ('file', 'module', 'class', 'interface', 'type', 'function', 'method', 'variable')),
    name           TEXT NOT NULL,
    qualified_name TEXT NOT NULL,
    file_path      TEXT NOT NULL,
    language       TEXT,
    start_line     INTEGER CHECK (start_line IS NULL OR start_line >= 1),
    end_line       INTEGER,
    signature      TEXT,
    doc            TEXT,
    content_hash   TEXT,
    community_id   INTEGER REFERENCES codegraph_communities(id) ON DELETE SET NULL,
    indexed_at     TEXT NOT NULL DEFAULT (datetime('now')),
    CHECK (end_line IS NULL OR end_line >= start_line)
);

CREATE UNIQUE INDEX IF NOT EXISTS ux_codegraph_nodes_qualified
    ON codegraph_nodes(workspace_path, qualified_name, kind);
CREATE INDEX IF NOT EXISTS idx_codegraph_nodes_file ON codegraph_nodes(workspace_path, file_path);
CREATE INDEX IF NOT EXISTS idx_codegraph_nodes_community ON codegraph_nodes(community_id) WHERE community_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS codegraph_edges (
    source_id INTEGER NOT NULL REFERENCES codegraph_nodes(id) ON DELETE CASCADE,
    target_id INTEGER NOT NULL REFERENCES codegraph_nodes(id) ON DELETE CASCADE,
    kind      TEXT NOT NULL CHECK (kind IN ('contains', 'imports', 'calls', 'inherits', 'implements', 'references')),
    weight    INTEGER NOT NULL DEFAULT 1 CHECK (weight >= 1),
    PRIMARY KEY (source_id, kind, target_id)
) WITHOUT ROWID;

-- "Who calls / imports this?"
CREATE INDEX IF NOT EXISTS idx_codegraph_edges_target ON codegraph_edges(target_id, kind);

-- Symbol search. Identifiers keep '_' as part of the token, and there is no stemming:
-- parse_config must not match parsed_configs.
CREATE VIRTUAL TABLE IF NOT EXISTS codegraph_fts USING fts5(
    name, qualified_name, doc,
    content='codegraph_nodes', content_rowid='id', tokenize="unicode61 tokenchars '_'"
);

CREATE TRIGGER IF NOT EXISTS codegraph_fts_ai AFTER INSERT ON codegraph_nodes
BEGIN
    INSERT INTO codegraph_fts (rowid, name, qualified_name, doc) VALUES (NEW.id, NEW.name, NEW.qualified_name, NEW.doc);
END;

CREATE TRIGGER IF NOT EXISTS codegraph_fts_ad AFTER DELETE ON codegraph_nodes
BEGIN
    INSERT INTO codegraph_fts (codegraph_fts, rowid, name, qualified_name, doc)
    VALUES ('delete', OLD.id, OLD.name, OLD.qualified_name, OLD.doc);
END;

CREATE TRIGGER IF NOT EXISTS codegraph_fts_au AFTER UPDATE OF name, qualified_name, doc ON codegraph_nodes
BEGIN
    INSERT INTO codegraph_fts (codegraph_fts, rowid, name, qualified_name, doc)
    VALUES ('delete', OLD.id, OLD.name, OLD.qualified_name, OLD.doc);
    INSERT INTO codegraph_fts (rowid, name, qualified_name, doc) VALUES (NEW.id, NEW.name, NEW.qualified_name, NEW.doc);
END;

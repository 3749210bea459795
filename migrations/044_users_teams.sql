-- 044 identity: users, teams, agents, membership, federation
-- Until now an installation had one implicit user. That user becomes the 'local' owner, and
-- the scoping columns of 045-047 assign existing rows to it.

CREATE TABLE IF NOT EXISTS users (
    id            TEXT PRIMARY KEY NOT NULL,
    username      TEXT NOT NULL,
    display_name  TEXT,
    email         TEXT,
    role          TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    status        TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    -- NULL for users who only sign in through a federation peer
    password_hash TEXT,
    created_at    TEXT NOT NULL DEFAULT (datetime('now')),
    updated_at    TEXT NOT NULL DEFAULT (datetime('now')),
    last_login_at TEXT
);

CREATE UNIQUE INDEX IF NOT EXISTS ux_users_username ON users(username COLLATE NOCASE);
CREATE UNIQUE INDEX IF NOT EXISTS ux_users_email ON users(email COLLATE NOCASE) WHERE email IS NOT NULL;

INSERT OR IGNORE INTO users (id, username, display_name, role) VALUES ('local', 'local', 'Local user', 'owner');

CREATE TABLE IF NOT EXISTS teams (
    id         TEXT PRIMARY KEY NOT NULL,
    slug       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL DEFAULT (datetime('now'))
);

CREATE TABLE IF NOT EXISTS team_members (
    team_id   TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role      TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'maintainer', 'member')),
    joined_at TEXT NOT NULL DEFAULT (datetime('now')),
    PRIMARY KEY (team_id, user_id)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS idx_team_members_user ON team_members(user_id);

-- Agent definitions (sessions.agent_id refers to these ids).
CREATE TABLE IF NOT EXISTS agents (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    owner_user_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    team_id       TEXT REFERENCES teams(id) ON DELETE SET NULL,
    model         TEXT,
    system_prompt TEXT,
    tools         TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tools)),
    visibility    TEXT NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'team', 'public')),
    created_at    TEXT NOT NULL DEFAULT (datetime('now')),
    updated_at    TEXT NOT NULL DEFAULT (datetime('now')),
    CHECK (visibility <> 'team' OR team_id IS NOT NULL)
);

CREATE INDEX IF NOT EXISTS idx_agents_owner ON agents(owner_user_id);
CREATE INDEX IF NOT EXISTS idx_agents_team ON agents(team_id) WHERE team_id IS NOT NULL;

-- Other CortexPrism installations this one trusts, and the remote identities linked to users.
CREATE TABLE IF NOT EXISTS federation_peers (
    id           TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    base_url     TEXT NOT NULL,
    public_key   TEXT NOT NULL,
    trust        TEXT NOT NULL DEFAULT 'pending' CHECK (trust IN ('pending', 'trusted', 'revoked')),
    created_at   TEXT NOT NULL DEFAULT (datetime('now')),
    last_seen_at TEXT
);

CREATE UNIQUE INDEX IF NOT EXISTS ux_federation_peers_url ON federation_peers(base_url);

CREATE TABLE IF NOT EXISTS federated_identities (
    peer_id        TEXT NOT NULL REFERENCES federation_peers(id) ON DELETE CASCADE,
    remote_user_id TEXT NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    linked_at      TEXT NOT NULL DEFAULT (datetime('now')),
    PRIMARY KEY (peer_id, remote_user_id)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS idx_federated_identities_user ON federated_identities(user_id);

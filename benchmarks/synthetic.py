"""Synthetic projects for measuring the generator at scale: every kind of statement, guarded."""

from __future__ import annotations

from pathlib import Path


def migration_sql(k: int, stride: int = 1) -> str:
    """About 20 statements touching every rule's statement kind; all guarded, so they build.

    `stride` is the distance to the previous migration of the same database.
    """
    prev = k - stride if k > stride else k
    parts = [
        f"-- {k:04d} synthetic",
        f"CREATE TABLE IF NOT EXISTS t{k} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, v INTEGER DEFAULT 0 "
        f"CHECK (v >= 0), parent INTEGER REFERENCES t{prev}(id) ON DELETE CASCADE);",
        f"CREATE INDEX IF NOT EXISTS t{k}_name ON t{k} (name);",
        f"CREATE UNIQUE INDEX IF NOT EXISTS t{k}_nv ON t{k} (name, v) WHERE v > 0;",
        f"CREATE VIEW IF NOT EXISTS v{k} AS SELECT id, name FROM t{k} WHERE v > 0;",
        f"CREATE VIRTUAL TABLE IF NOT EXISTS f{k} USING fts5(name, content='t{k}', content_rowid='id', "
        "tokenize='porter');",
        f"CREATE TRIGGER IF NOT EXISTS t{k}_ai AFTER INSERT ON t{k} BEGIN\n"
        f"  INSERT INTO f{k}(rowid, name) VALUES (new.id, new.name);\nEND;",
        f"CREATE TRIGGER IF NOT EXISTS t{k}_ad AFTER DELETE ON t{k} BEGIN\n"
        f"  INSERT INTO f{k}(f{k}, rowid, name) VALUES ('delete', old.id, old.name);\nEND;",
        f"CREATE TABLE IF NOT EXISTS kv{k} (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;",
        f"ALTER TABLE t{prev} ADD COLUMN IF NOT EXISTS extra{k} TEXT;",
        f"CREATE TABLE IF NOT EXISTS log{k} (id INTEGER PRIMARY KEY AUTOINCREMENT, t{k}_id INTEGER NOT NULL "
        f"REFERENCES t{k}(id) ON DELETE CASCADE, at TEXT NOT NULL DEFAULT (datetime('now')));",
        f"INSERT OR IGNORE INTO t{k} (id, name, v) VALUES (1, 'seed {k}', 1);",
        f"INSERT INTO kv{k} (k, v) VALUES ('a', 'b') ON CONFLICT DO NOTHING;",
        f"INSERT OR REPLACE INTO kv{k} (k, v) VALUES ('c', 'd');",
        f"UPDATE t{k} SET v = 2 WHERE v IS NULL;",
        f"DELETE FROM t{k} WHERE v < 0;",
        f"DROP INDEX IF EXISTS t{k}_old;",
        f"DROP VIEW IF EXISTS v{k}_old;",
        f"DROP TRIGGER IF EXISTS t{k}_old;",
        f"CREATE TABLE IF NOT EXISTS scratch{k} (x INTEGER);",
        f"DROP TABLE IF EXISTS scratch{k};",
    ]
    if k % 100 == 0:  # the rarer kinds: foreign keys off, destructive drops with a reason
        parts.insert(1, "PRAGMA foreign_keys=OFF;")
        parts.append(f"-- noqa: MG010 kv{prev} was only ever a cache\nDROP TABLE IF EXISTS kv{prev};")
        parts.append("PRAGMA foreign_keys=ON;")
    return "\n".join(parts) + "\n"


def unguarded_sql(k: int) -> str:
    """The same kinds of statement without guards: every lint rule fires."""
    return (
        f"CREATE TABLE u{k} (id INTEGER PRIMARY KEY, name TEXT);\n"
        f"CREATE INDEX u{k}_name ON u{k} (name);\n"
        f"CREATE VIEW uv{k} AS SELECT id FROM u{k};\n"
        f"CREATE VIRTUAL TABLE uf{k} USING fts5(name, content='u{k}', content_rowid='id', tokenize='porter');\n"
        f"CREATE TRIGGER ut{k} AFTER INSERT ON u{k} BEGIN\n"
        f"  INSERT INTO uf{k}(rowid, name) VALUES (new.id, new.name);\nEND;\n"
        f"ALTER TABLE u{k} ADD COLUMN c{k} TEXT;\n"
        f"DROP INDEX u{k}_gone;\n"
        f"INSERT INTO u{k} (id, name) VALUES (1, 'x');\n"
        f"ALTER TABLE u{k} RENAME TO u{k}_renamed;\n"
        f"VACUUM;\n"
        f"PRAGMA foreign_keys=OFF;\n"
        f"DROP TABLE u{max(k - 1, 1)}_renamed;\n"
        f"CREATE TABLE broken{k} (id INTEGER PRIMARY KEY, name TEXT;\n"
    )


def write_project(root: Path, count: int, *, unguarded: bool = False, databases: int = 1,
                  original_runner_through: int = 0) -> Path:
    """A project of `count` migrations spread round-robin over `databases` databases; those up
    to `original_runner_through` are heal-proven (the original runner may have run them)."""
    (root / "migrations").mkdir(parents=True, exist_ok=True)
    lines = ["[generator]", 'migrations = "migrations"', 'output = "out/_frozen.py"',
             f"original_runner_through = {original_runner_through}", ""]
    for d in range(databases):
        lines += [f"[databases.db{d}]", f'file = "db{d}.db"', 'purpose = "synthetic"', ""]
    for k in range(1, count + 1):
        file = f"{k:04d}_synthetic.sql"
        sql = unguarded_sql(k) if unguarded else migration_sql(k, databases)
        (root / "migrations" / file).write_text(sql, encoding="utf-8")
        lines += ["[[migration]]", f'file = "{file}"', f'database = "db{k % databases}"',
                  f'description = "synthetic {k}"', ""]
    (root / "manifest.toml").write_text("\n".join(lines), encoding="utf-8")
    return root

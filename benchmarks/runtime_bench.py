"""The runtime's speed: against raw `sqlite3` doing the same work, and against a peer (yoyo).

Every ratio compares contenders timed alternately in this one invocation (the machine is
shared and noisy: only ratios compare across runs). The baselines run exactly the SQL the
runtime runs on a fresh database: the frozen steps, each `ADD COLUMN IF NOT EXISTS` emulated
(its plain `ADD COLUMN` kept when a fresh database lacks the column, decided once on a
scratch database, so the baselines pay no `PRAGMA table_info`). Each contender's result is
checked against the proven schema once, so no contender is fast by doing less.
"""

from __future__ import annotations

import compileall
import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from .harness import Row, Sample, interleaved

ROOT = Path(__file__).resolve().parents[1]
LEDGER_QUERY = "SELECT version FROM schema_migrations"
FLOOR = "raw: WAL, a transaction per migration + ledger row + user_version"

# A child that imports everything, says "ready" and waits for a line before it migrates: the
# start barrier for "processes starting together" without interpreter start-up in the way.
BARRIER_CHILD = """
import sqlite3  # what the slow path uses; `import cortexdb` no longer loads it (an up-to-date start never does)
import sys
from cortexdb._catalog import load_catalog
from cortexdb._cli import main
load_catalog(None)
print("ready", file=sys.stderr, flush=True)
sys.stdin.readline()
sys.exit(main(sys.argv[1:]))
"""


# ---------------------------------------------------------------- the workload


def frozen_module() -> ModuleType:
    import cortexdb._frozen

    return cortexdb._frozen


def fresh_statements(frozen: ModuleType) -> dict[str, list[tuple[str, list[str]]]]:
    """Per database: (migration file, statements) as a fresh database runs them."""
    from cortexdb._contract import has_column

    result: dict[str, list[tuple[str, list[str]]]] = {}
    for name in sorted(frozen.DATABASES):
        scratch = sqlite3.connect(":memory:", isolation_level=None)
        migrations = []
        for entry in frozen.MIGRATIONS:
            if entry["database"] != name:
                continue
            statements = []
            for step in entry["steps"]:
                if step[0] == "add_column" and has_column(scratch, str(step[3]), str(step[4])):
                    continue
                scratch.execute(str(step[2]))
                statements.append(str(step[2]))
            migrations.append((str(entry["file"]), statements))
        scratch.close()
        result[name] = migrations
    return result


def one_transaction_script(migrations: list[tuple[str, list[str]]]) -> str:
    """A database's SQL joined, in one transaction, no ledger: the baseline of the issue."""
    return "BEGIN;\n" + "\n".join(s for _, statements in migrations for s in statements) + "\nCOMMIT;"


def run_script(path: str, script: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.executescript(script)
    finally:
        conn.close()


LEDGER_TABLE = ("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                "description TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT (datetime('now')), "
                "checksum TEXT NOT NULL)")


def run_design_floor(path: str, migrations: list[tuple[str, list[str]]]) -> None:
    """Raw `sqlite3` doing what the design asks of the runtime, and nothing else: WAL with
    synchronous=NORMAL, one `BEGIN IMMEDIATE` transaction per migration that also reads the
    ledger, records its row and writes the fingerprint into `user_version`. The new file
    switches to WAL without fsyncs, as the runtime's does (it holds nothing yet)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        for number, (file, statements) in enumerate(migrations, 1):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(LEDGER_TABLE)
            conn.execute("SELECT version, checksum FROM schema_migrations ORDER BY version").fetchall()
            for statement in statements:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations (version, description, checksum) VALUES (?, ?, ?)",
                         (number, file, "c1:" + "0" * 64))
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
    finally:
        conn.close()


def check_schema(frozen: ModuleType, name: str, path: str, who: str) -> None:
    """`who` left the database at `path` with exactly the proven schema (bookkeeping aside)."""
    from cortexdb._contract import read_schema

    conn = sqlite3.connect(path)
    try:
        live = tuple(row for row in read_schema(conn, frozen.LEDGER)
                     if not row[1].startswith(("_yoyo", "yoyo")))
    finally:
        conn.close()
    if live != tuple(frozen.DATABASES[name]["schema"]):
        raise AssertionError(f"{who}: {path} does not have the proven schema of {name}")


class Scratch:
    """Fresh directories under one temporary root; `next()` is meant for untimed setup."""

    def __init__(self, base: Path, prefix: str) -> None:
        self.base = base
        self.prefix = prefix
        self.count = 0
        self.current = base / f"{prefix}-none"

    def next(self) -> Path:
        self.count += 1
        self.current = self.base / f"{self.prefix}{self.count}"
        self.current.mkdir(parents=True)
        return self.current

    def clear(self) -> None:
        for path in self.base.glob(f"{self.prefix}*"):
            shutil.rmtree(path, ignore_errors=True)


def per_call(sample: Sample, calls: int, label: str | None = None) -> Sample:
    return Sample(label or sample.label, [seconds / calls for seconds in sample.seconds])


def looped(run: Callable[[], object], calls: int) -> Callable[[], None]:
    def many() -> None:
        for _ in range(calls):
            run()

    return many


# ---------------------------------------------------------------- processes


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)  # this tree's cortexdb, installed or not
    env.pop("CORTEX_DATA_DIR", None)
    return env


def cortex_command() -> tuple[list[str], str]:
    """The `cortex` console script beside this interpreter, else `python -m cortexdb`."""
    script = Path(sys.executable).with_name("cortex")
    if script.exists():
        return [str(script)], "cortex"
    return [sys.executable, "-m", "cortexdb"], "python -m cortexdb"


def ensure_bytecode() -> None:
    """As an installed package has: without .pyc every process recompiles the 165 KB `_frozen.py`."""
    compileall.compile_dir(str(ROOT / "cortexdb"), quiet=1)


def run_quiet(command: list[str], env: dict[str, str]) -> None:
    proc = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: exit {proc.returncode}: {proc.stderr.strip()}")


def start_together(count: int, data: Path, env: dict[str, str], command: list[str] | None = None) -> None:
    """`count` whole processes started at once on `data` (or `command` instead); returns when all
    have exited 0."""
    if command is None:
        command = [*cortex_command()[0], "db", "migrate", "--data-dir", str(data)]
    processes = [subprocess.Popen(command, env=env,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True) for _ in range(count)]
    failed = [(p.wait(), p.stderr.read() if p.stderr else "") for p in processes]
    for process in processes:
        if process.stderr:
            process.stderr.close()
    bad = [(code, err) for code, err in failed if code != 0]
    if bad:
        raise RuntimeError(f"{len(bad)} of {count} processes failed: {bad[0]}")


def barrier_rounds(counts: dict[str, int], scratch: Scratch, env: dict[str, str],
                   repeat: int) -> dict[str, Sample]:
    """Wall time from "go" to the last exit, for `count` children already started and ready.

    Interleaved like `harness.interleaved`, but the spawning (interpreter start-up and
    imports) happens before the clock starts.
    """
    times: dict[str, list[float]] = {label: [] for label in counts}
    for round_ in range(repeat + 1):
        for label, count in counts.items():
            data = scratch.next()
            processes = [subprocess.Popen(
                [sys.executable, "-c", BARRIER_CHILD, "db", "migrate", "--data-dir", str(data)],
                env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                text=True) for _ in range(count)]
            for process in processes:
                assert process.stderr is not None
                if process.stderr.readline() != "ready\n":
                    raise RuntimeError("a barrier child did not start: " + process.stderr.read())
            start = time.perf_counter()
            for process in processes:
                assert process.stdin is not None
                process.stdin.write("go\n")
                process.stdin.close()
            codes = [process.wait() for process in processes]
            elapsed = time.perf_counter() - start
            for process in processes:
                assert process.stderr is not None
                process.stderr.close()
            if any(codes):
                raise RuntimeError(f"barrier children exited {codes}")
            if round_:
                times[label].append(elapsed)
    return {label: Sample(label, seconds) for label, seconds in times.items()}


# ---------------------------------------------------------------- yoyo, the peer


def write_yoyo_sources(base: Path, sql: dict[str, list[tuple[str, list[str]]]],
                       names: list[str]) -> dict[str, Path]:
    """One folder of .sql files per database: the compiled statements (yoyo cannot run
    `ADD COLUMN IF NOT EXISTS`, which is not SQLite syntax)."""
    folders = {}
    for name in names:
        folder = base / "yoyo-sources" / name
        folder.mkdir(parents=True)
        for file, statements in sql[name]:
            (folder / file).write_text("\n\n".join(statements) + "\n", encoding="utf-8")
        folders[name] = folder
    return folders


def yoyo_migrate(data: Path, folders: dict[str, Path], files: dict[str, str]) -> None:
    """What `yoyo apply` does, in process: read the folder, lock, apply what is pending."""
    from yoyo import get_backend, read_migrations  # type: ignore[import-untyped]

    # yoyo prints the rows of statements that return any (a guard SELECT in one migration).
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        for name, folder in folders.items():
            backend = get_backend(f"sqlite:///{data / files[name]}")
            try:
                migrations = read_migrations(str(folder))
                with backend.lock():
                    backend.apply_migrations(backend.to_apply(migrations))
            finally:
                backend.connection.close()


# ---------------------------------------------------------------- the benchmarks


def run(quick: bool = False) -> list[Row]:
    import cortexdb

    ensure_bytecode()
    frozen = frozen_module()
    sql = fresh_statements(frozen)
    shared = [name for name, spec in sorted(frozen.DATABASES.items()) if not spec["session"]]
    files = {name: str(spec["file"]) for name, spec in frozen.DATABASES.items()}
    scripts = {name: one_transaction_script(sql[name]) for name in sql}
    env = child_env()
    rows: list[Row] = []

    with tempfile.TemporaryDirectory(prefix="cortexdb-bench-rt-") as tmp:
        base = Path(tmp)
        scratch = Scratch(base, "d")

        # -- fresh apply, all shared databases ---------------------------------------
        def cortexdb_fresh() -> None:
            cortexdb.migrate(scratch.current)

        def raw_fresh() -> None:
            for name in shared:
                run_script(str(scratch.current / files[name]), scripts[name])

        scratch.next()
        raw_fresh()
        for name in shared:
            check_schema(frozen, name, str(scratch.current / files[name]), "raw baseline")
        scratch.next()
        cortexdb_fresh()
        for name in shared:
            check_schema(frozen, name, str(scratch.current / files[name]), "cortexdb")
        def floor_fresh() -> None:
            for name in shared:
                run_design_floor(str(scratch.current / files[name]), sql[name])

        fresh = interleaved({"cortexdb": cortexdb_fresh, "raw sqlite3": raw_fresh, "floor": floor_fresh},
                            repeat=3 if quick else 9, setup=scratch.next)
        what = f"fresh apply, {len(shared)} databases ({sum(len(sql[n]) for n in shared)} migrations), in process"
        rows.append(Row(what, fresh["cortexdb"], fresh["raw sqlite3"],
                        "<= 1.5x", fresh["cortexdb"].median <= 1.5 * fresh["raw sqlite3"].median))
        rows.append(Row(f"{what}: against the design's floor", fresh["cortexdb"], Sample(FLOOR, fresh["floor"].seconds),
                        "— (informative)", None))
        scratch.clear()

        # -- the up-to-date check, in process ------------------------------------------
        migrated = scratch.next()
        cortexdb.migrate(migrated)

        def cortexdb_noop() -> None:
            result = cortexdb.migrate(migrated)
            assert result.up_to_date

        def raw_noop() -> None:
            for name in shared:
                conn = sqlite3.connect(migrated / files[name])
                conn.execute(LEDGER_QUERY).fetchall()
                conn.close()

        calls = 20 if quick else 50
        noop = interleaved({"cortexdb": looped(cortexdb_noop, calls), "raw": looped(raw_noop, calls)},
                           repeat=5 if quick else 15)
        noop_c = per_call(noop["cortexdb"], calls)
        noop_r = per_call(noop["raw"], calls, "raw connect + ledger SELECT + close")
        rows.append(Row(f"up-to-date check, {len(shared)} databases, in process", noop_c, noop_r,
                        "<= 0.5x", noop_c.median <= 0.5 * noop_r.median))

        # -- `cortex db migrate` up to date, whole process -------------------------------
        command, shown = cortex_command()
        migrate_cmd = [*command, "db", "migrate", "--data-dir", str(migrated)]
        import_cmd = [sys.executable, "-c", "import sqlite3"]
        run_quiet(migrate_cmd, env)
        whole = interleaved({"cortex": lambda: run_quiet(migrate_cmd, env),
                             "python": lambda: run_quiet(import_cmd, env)},
                            repeat=7 if quick else 21)
        rows.append(Row(f"`{shown} db migrate`, up to date, whole process (.pyc compiled)",
                        whole["cortex"], Sample('python -c "import sqlite3"', whole["python"].seconds),
                        "<= 1.2x", whole["cortex"].median <= 1.2 * whole["python"].median))

        # -- peer: yoyo-migrations on the same SQL ------------------------------------------
        rows.extend(_yoyo_rows(quick, base, frozen, sql, shared, files, scratch, migrated))
        scratch.clear()

        # -- 1,000 session databases ------------------------------------------------------
        sessions = 200 if quick else 1000
        session_file = files["session"]
        session_script = scripts["session"]

        def cortexdb_sessions() -> None:
            for number in range(sessions):
                cortexdb.open_session(scratch.current, f"s{number:04d}").close()

        def raw_sessions() -> None:
            (scratch.current / os.path.dirname(session_file)).mkdir(exist_ok=True)
            for number in range(sessions):
                run_script(str(scratch.current / session_file.format(session_id=f"s{number:04d}")),
                           session_script)

        def floor_sessions() -> None:
            (scratch.current / os.path.dirname(session_file)).mkdir(exist_ok=True)
            for number in range(sessions):
                run_design_floor(str(scratch.current / session_file.format(session_id=f"s{number:04d}")),
                                 sql["session"])

        scratch.next()
        cortexdb_sessions()
        check_schema(frozen, "session", str(scratch.current / session_file.format(session_id="s0000")),
                     "cortexdb")

        def next_empty() -> None:
            scratch.clear()
            scratch.next()

        per_session = interleaved({"cortexdb": cortexdb_sessions, "raw": raw_sessions, "floor": floor_sessions},
                                  repeat=2 if quick else 3, setup=next_empty)
        rows.append(Row(f"{sessions:,} session databases created and migrated (`open_session`)",
                        per_session["cortexdb"],
                        Sample("raw: create + SQL in one transaction", per_session["raw"].seconds),
                        "<= 1.5x", per_session["cortexdb"].median <= 1.5 * per_session["raw"].median))
        rows.append(Row(f"{sessions:,} session databases: against the design's floor", per_session["cortexdb"],
                        Sample(FLOOR, per_session["floor"].seconds), "— (informative)", None))
        scratch.clear()

        # -- 16 processes on one empty data dir -----------------------------------------------
        bare = [sys.executable, "-c", "import sqlite3"]
        together = interleaved({"16": lambda: start_together(16, scratch.current, env),
                                "1": lambda: start_together(1, scratch.current, env),
                                "bare": lambda: start_together(16, scratch.current, env, command=bare)},
                               repeat=2 if quick else 4, setup=scratch.next)
        rows.append(Row(f"16 `{shown} db migrate` started together, empty data dir, whole processes",
                        together["16"], Sample("one process alone", together["1"].seconds),
                        "wall <= 2x", together["16"].median <= 2 * together["1"].median))
        # The physical floor of the row above on this machine: interpreters alone, no work at all.
        rows.append(Row(f"16 `{shown} db migrate` started together: against 16 bare interpreters started together",
                        together["16"], Sample('16 x python -c "import sqlite3"', together["bare"].seconds),
                        "— (informative)", None))
        scratch.clear()
        barrier = barrier_rounds({"16": 16, "1": 1}, scratch, env, repeat=2 if quick else 4)
        rows.append(Row("16 processes released together from a start barrier (imports done), empty data dir",
                        barrier["16"], Sample("one process alone", barrier["1"].seconds),
                        "wall <= 2x", barrier["16"].median <= 2 * barrier["1"].median))
        scratch.clear()
    return rows


def _yoyo_rows(quick: bool, base: Path, frozen: ModuleType, sql: dict[str, list[tuple[str, list[str]]]],
               shared: list[str], files: dict[str, str], scratch: Scratch, migrated: Path) -> list[Row]:
    import cortexdb

    try:
        import yoyo  # noqa: F401
    except ImportError:
        return [Row("peer: yoyo-migrations (not installed: `pip install -e '.[dev]'`)",
                    Sample("-", [0.0]), None, "cortexdb >= 5x faster", None, shown="not run")]
    folders = write_yoyo_sources(base, sql, shared)

    def cortexdb_fresh() -> None:
        cortexdb.migrate(scratch.current)

    def yoyo_fresh() -> None:
        yoyo_migrate(scratch.current, folders, files)

    scratch.next()
    yoyo_fresh()
    for name in shared:
        check_schema(frozen, name, str(scratch.current / files[name]), "yoyo")
    yoyo_done = scratch.current
    yoyo_fresh()  # a second run applies nothing
    fresh = interleaved({"cortexdb": cortexdb_fresh, "yoyo": yoyo_fresh}, repeat=3 if quick else 4,
                        setup=scratch.next)

    def cortexdb_noop() -> None:
        cortexdb.migrate(migrated)

    def yoyo_noop() -> None:
        yoyo_migrate(yoyo_done, folders, files)

    calls = 2 if quick else 5
    noop = interleaved({"cortexdb": looped(cortexdb_noop, calls), "yoyo": looped(yoyo_noop, calls)},
                       repeat=5 if quick else 11)
    noop_c, noop_y = per_call(noop["cortexdb"], calls), per_call(noop["yoyo"], calls)
    yoyo_label = "yoyo 9 (read folder, lock, apply)"
    return [
        Row(f"peer, fresh: cortexdb vs yoyo-migrations, {len(shared)} databases, in process",
            fresh["cortexdb"], Sample(yoyo_label, fresh["yoyo"].seconds), "<= 0.2x (>= 5x faster)",
            fresh["cortexdb"].median * 5 <= fresh["yoyo"].median),
        Row(f"peer, up to date: cortexdb vs yoyo-migrations, {len(shared)} databases, in process",
            noop_c, Sample(yoyo_label, noop_y.seconds), "<= 0.2x (>= 5x faster)",
            noop_c.median * 5 <= noop_y.median),
    ]


if __name__ == "__main__":
    from .harness import table

    print(table(run(quick="--quick" in sys.argv)))

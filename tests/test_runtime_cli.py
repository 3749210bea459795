"""The `cortex db` CLI (help, usage errors, status, verify, --debug) and the cost of importing."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from runtime_support import ROOT, child_env, derived, real_frozen, run_cli, write_frozen

import cortexdb

FROZEN = real_frozen()


def test_help_documents_commands_options_and_exit_codes() -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0
    for text in ("migrate", "status", "verify", "--data-dir", "$CORTEX_DATA_DIR", "~/.cortex/data",
                 "--database", "--dry-run", "--no-backup", "--format", "--busy-timeout", "--debug",
                 "exit status:", "  0  success", "  1  refusal or failure", "  2  bad usage or input"):
        assert text in proc.stdout, text


@pytest.mark.parametrize("args, message", [
    ((), "choose a command"),
    (("frob",), "unknown command 'frob'"),  # issue 14: was "unexpected argument", now names it a command
    (("migrate", "frob"), "unexpected argument 'frob'"),
    (("migrate", "--frob"), "unknown option --frob"),
    (("status", "--format", "xml"), "--format must be text or json"),
    (("migrate", "--busy-timeout", "soon"), "--busy-timeout needs seconds"),
    (("status", "--dry-run"), "--dry-run does not apply to status"),
    (("migrate", "--data-dir"), "--data-dir needs a value"),
])
def test_usage_errors_exit_2(args: tuple[str, ...], message: str) -> None:
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert message in proc.stderr and proc.stderr.startswith("usage: cortex db")
    assert proc.stdout == ""


def test_default_data_dir_from_environment_then_home(tmp_path: Path) -> None:
    env = {**child_env(), "CORTEX_DATA_DIR": str(tmp_path / "env-data")}
    assert run_cli("migrate", env=env).returncode == 0
    assert (tmp_path / "env-data" / "cortex.db").exists()
    home = {**child_env(), "HOME": str(tmp_path / "home")}
    assert run_cli("migrate", env=home).returncode == 0
    assert (tmp_path / "home" / ".cortex" / "data" / "cortex.db").exists()


def test_status_text_and_json(tmp_path: Path) -> None:
    cortexdb.migrate(tmp_path, frozen=derived(FROZEN, upto=44))
    text = run_cli("status", "--data-dir", str(tmp_path))
    assert text.returncode == 0, text.stderr
    cortex = next(line for line in text.stdout.splitlines() if line.startswith("cortex "))
    assert "pending 047" in cortex
    rows = {row["name"]: row for row in json.loads(
        run_cli("status", "--data-dir", str(tmp_path), "--format", "json").stdout)["databases"]}
    assert rows["cortex"]["pending"] == [47] and not rows["cortex"]["up_to_date"]
    assert rows["lens"]["up_to_date"] and rows["lens"]["applied"] == [3, 27, 35]


def test_status_shows_changed_and_unknown_and_exits_1(tmp_path: Path) -> None:
    cortexdb.migrate(tmp_path)
    conn = sqlite3.connect(tmp_path / "vault.db")
    conn.execute("UPDATE schema_migrations SET checksum = 'c1:edited' WHERE version = 4")
    conn.execute("INSERT INTO schema_migrations (version, description, checksum) VALUES (99, 'x', 'y')")
    conn.commit()
    conn.close()
    proc = run_cli("status", "--data-dir", str(tmp_path), "--format", "json")
    assert proc.returncode == 1
    vault = next(r for r in json.loads(proc.stdout)["databases"] if r["name"] == "vault")
    assert vault["changed"] == [4] and vault["unknown"] == [99]


def test_verify_reports_missing_extra_and_different_objects(tmp_path: Path) -> None:
    cortexdb.migrate(tmp_path)
    assert run_cli("verify", "--data-dir", str(tmp_path)).returncode == 0
    conn = sqlite3.connect(tmp_path / "lens.db")
    index = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                         "ORDER BY name LIMIT 2").fetchall()
    conn.execute(f"DROP INDEX {index[0][0]}")  # missing
    conn.execute(f"DROP INDEX {index[1][0]}")  # different: same name, another definition
    table = index[1][1].split(" ON ")[1].split("(")[0].strip()
    column = conn.execute(f"PRAGMA table_info({table})").fetchone()[1]
    conn.execute(f"CREATE INDEX {index[1][0]} ON {table}({column}) WHERE 1 = 1")
    conn.execute("CREATE TABLE scratch (x)")  # extra
    conn.commit()
    conn.close()

    proc = run_cli("verify", "--data-dir", str(tmp_path))
    assert proc.returncode == 1
    assert f"missing index {index[0][0]}" in proc.stdout
    assert f"index {index[1][0]} differs from the proven schema" in proc.stdout
    assert "extra table scratch" in proc.stdout
    assert proc.stdout.strip().endswith("drift in 1 database(s)")
    report = json.loads(run_cli("verify", "--data-dir", str(tmp_path), "--format", "json").stdout)
    lens = next(d for d in report["databases"] if d["name"] == "lens")
    assert not report["ok"] and lens["extra"] == [["table", "scratch"]]
    assert lens["missing"] == [["index", index[0][0]]] and lens["different"] == [["index", index[1][0]]]


def test_verify_of_a_missing_or_behind_data_dir(tmp_path: Path) -> None:
    proc = run_cli("verify", "--data-dir", str(tmp_path / "nothing"))
    assert proc.returncode == 1 and "does not exist" in proc.stdout
    assert not (tmp_path / "nothing").exists()
    cortexdb.migrate(tmp_path / "behind", frozen=derived(FROZEN, upto=46))
    proc = run_cli("verify", "--data-dir", str(tmp_path / "behind"))
    assert proc.returncode == 1 and "migration 047 (047_core_scoping.sql) is not applied" in proc.stdout


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    (tmp_path / "cortex.db").write_bytes(b"garbage" * 100)
    proc = run_cli("migrate", "--data-dir", str(tmp_path), "--debug")
    assert proc.returncode == 1  # an uncaught exception
    assert "Traceback" in proc.stderr and "NotADatabaseError" in proc.stderr


def test_python_dash_m_and_frozen_override(tmp_path: Path) -> None:
    frozen_file = write_frozen(derived(FROZEN, upto=5), tmp_path / "five.py")
    proc = run_cli("migrate", "--data-dir", str(tmp_path / "d"), frozen_file=frozen_file)
    assert proc.returncode == 0 and "applied 5 migration(s)" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "cortexdb", "db", "status", "--data-dir",
                           str(tmp_path / "d")], capture_output=True, text=True, cwd=ROOT,
                          env=child_env(), timeout=60)
    assert proc.returncode == 0 and "pending" in proc.stdout


IMPORT_PROBE = """
import json, sys
before = set(sys.modules)
import cortexdb
after_import = set(sys.modules)
if len(sys.argv) > 1:
    assert cortexdb.migrate(sys.argv[1]).up_to_date
print(json.dumps({"import": sorted(after_import - before),
                  "migrate": sorted(set(sys.modules) - after_import)}))
"""


def _probe(*args: str) -> dict[str, list[str]]:
    proc = subprocess.run([sys.executable, "-c", IMPORT_PROBE, *args], capture_output=True,
                          text=True, env=child_env(), timeout=60)
    assert proc.returncode == 0, proc.stderr
    loaded: dict[str, list[str]] = json.loads(proc.stdout)
    return loaded


def test_import_loads_only_the_standard_library() -> None:
    loaded = _probe()["import"]
    outside = [m for m in loaded
               if m.split(".")[0] not in sys.stdlib_module_names and m.split(".")[0] != "cortexdb"]
    assert outside == []
    assert "cortexdb._frozen" not in loaded  # loaded when first needed, not on import


def test_up_to_date_path_stays_lean(tmp_path: Path) -> None:
    """What every application start pays: no logging, typing, hashlib, pathlib, re, ... import."""
    cortexdb.migrate(tmp_path)
    loaded = _probe(str(tmp_path))
    everything = loaded["import"] + loaded["migrate"]
    heavy = {"logging", "typing", "hashlib", "pathlib", "re", "argparse", "dataclasses", "json",
             "shutil", "importlib.util", "enum", "cortexdb._apply", "cortexdb.local.backups",
             "cortexdb._catalog", "cortexdb._inspect", "cortexdb._run"}
    assert heavy.isdisjoint(everything), sorted(heavy.intersection(everything))
    assert loaded["migrate"] == ["cortexdb._frozen_index"]  # not the 165 KB _frozen.py: test_runtime_index.py

"""A path in the manifest that points outside its folder is refused (MF008, exit 2), in every
form: `..`, absolute, a Windows drive or share, a symlinked file or folder, a symlink loop, and
fuzzed mixtures of those. Database files must stay inside the data dir on every platform: the
frozen module is pure Python and runs wherever the wheel is installed.
"""

from __future__ import annotations

import ntpath
import os
import posixpath
from pathlib import Path
from typing import Any

import pytest
from fuzz_strategies import Spec
from fuzz_support import check_run, fuzz, materialize, run_generator, sandbox, snapshot
from fuzz_toml import toml_document
from hypothesis import strategies as st

from generator.diagnostics import GeneratorError
from generator.project import load_manifest

OUTSIDE = "\u2603OUTSIDE\u2603"  # the sandbox's `outside` folder, absolute
PROJECT = "\u2603PROJECT\u2603"  # the project folder, absolute


def manifest(**changes: Any) -> dict[str, Any]:
    """A valid manifest with one database and one migration, then `changes` by dotted key."""
    data: dict[str, Any] = {
        "generator": {"migrations": "migrations", "output": "cortexdb/_frozen.py", "lock": "migrations.lock"},
        "databases": {"main": {"file": "main.db"}},
        "migration": [{"file": "001_a.sql", "database": "main"}],
    }
    for dotted, value in changes.items():
        *path, key = dotted.split("__")
        table: Any = data
        for part in path:
            table = table[int(part)] if part.isdigit() else table[part]
        table[key] = value
    return data


GOOD_SQL = b"CREATE TABLE IF NOT EXISTS a (x INTEGER);\n"


def build(spec: Spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
          links: dict[str, str] | None = None) -> tuple[int, str]:
    """Write the project, make its symlinks, run `build`, check the run's contract; (exit, stderr)."""
    for base in sandbox(tmp_path):
        project = materialize(spec, base)
        replace = {OUTSIDE: str(base / "outside"), PROJECT: str(project)}
        text = (project / "manifest.toml").read_text(encoding="utf-8")
        for marker, value in replace.items():
            text = text.replace(marker, value)
        (project / "manifest.toml").write_text(text, encoding="utf-8")
        for link, target in (links or {}).items():
            for marker, value in replace.items():
                target = target.replace(marker, value)
            path = project / link
            if not target:  # not a link: a real file for another link to point at
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(GOOD_SQL)
                continue
            if path.is_dir() and not path.is_symlink():
                for child in path.iterdir():
                    child.unlink()
                path.rmdir()
            path.unlink(missing_ok=True)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.symlink_to(target)
        before = snapshot(base)
        run = run_generator(spec.argv, project, monkeypatch, capsys)
        check_run(run, spec.argv, project, base, before)
        return run.code, run.err
    raise AssertionError("unreachable")


REFUSED = [
    # (id, manifest changes, symlinks)
    ("file-dotdot", {"migration__0__file": "../evil.sql"}, {}),
    ("file-dotdot-existing", {"migration__0__file": "../../../../../../outside/evil.sql"}, {}),
    ("file-absolute", {"migration__0__file": f"{OUTSIDE}/evil.sql"}, {}),
    ("file-in-subfolder", {"migration__0__file": "sub/../001_a.sql"}, {}),
    ("file-dot-slash", {"migration__0__file": "./001_a.sql"}, {}),
    ("file-backslash", {"migration__0__file": "..\\evil.sql"}, {}),
    ("file-drive", {"migration__0__file": "C:001_a.sql"}, {}),
    ("file-symlink-out-absolute", {}, {"migrations/001_a.sql": f"{OUTSIDE}/evil.sql"}),
    ("file-symlink-out-relative", {}, {"migrations/001_a.sql": "../../../../../../../outside/evil.sql"}),
    ("file-symlink-loop", {}, {"migrations/001_a.sql": "loop.sql", "migrations/loop.sql": "001_a.sql"}),
    ("folder-dotdot", {"generator__migrations": "../migrations"}, {}),
    ("folder-absolute", {"generator__migrations": f"{OUTSIDE}"}, {}),
    ("folder-symlink-out", {}, {"migrations": f"{OUTSIDE}"}),
    ("folder-drive", {"generator__migrations": "C:/migrations"}, {}),
    ("output-dotdot", {"generator__output": "../x.py"}, {}),
    ("output-absolute", {"generator__output": f"{OUTSIDE}/x.py"}, {}),
    ("output-sneaky", {"generator__output": "cortexdb/../../x.py"}, {}),
    ("output-folder-symlink-out", {}, {"cortexdb": f"{OUTSIDE}"}),
    ("lock-dotdot", {"generator__lock": "../migrations.lock"}, {}),
    ("lock-absolute", {"generator__lock": f"{OUTSIDE}/migrations.lock"}, {}),
    ("lock-symlink-folder-out", {"generator__lock": "out/migrations.lock"}, {"out": f"{OUTSIDE}"}),
    ("database-dotdot", {"databases__main__file": "../x.db"}, {}),
    ("database-absolute", {"databases__main__file": "/x.db"}, {}),
    ("database-sneaky", {"databases__main__file": "a/../../x.db"}, {}),
    ("database-session-dotdot", {"databases__main__file": "sessions/{session_id}/../../../x.db"}, {}),
    ("database-windows-absolute", {"databases__main__file": "C:/x.db"}, {}),
    ("database-windows-drive-relative", {"databases__main__file": "C:x.db"}, {}),
    ("database-windows-share", {"databases__main__file": "\\\\server\\share\\x.db"}, {}),
    ("database-posix-share", {"databases__main__file": "//server/share/x.db"}, {}),
    ("database-backslash-dotdot", {"databases__main__file": "x\\..\\..\\y.db"}, {}),
]


@pytest.mark.parametrize(("changes", "links"), [pytest.param(c, lk, id=i) for i, c, lk in REFUSED])
def test_a_path_that_leaves_its_folder_is_refused(changes: dict[str, Any], links: dict[str, str], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    spec = Spec(manifest(**changes), {"migrations/001_a.sql": GOOD_SQL}, argv=["build"])
    code, err = build(spec, tmp_path, monkeypatch, capsys, links)
    assert code == 2, err
    assert " MF008 " in err, err


ACCEPTED = [
    ("file-symlink-inside", {}, {"migrations/001_a.sql": "sub/real.sql", "migrations/sub/real.sql": ""}),
    ("folder-symlink-inside", {"generator__migrations": "sql"}, {"sql": f"{PROJECT}/migrations"}),
    ("database-in-subfolder", {"databases__main__file": "data/x.db"}, {}),
    ("database-session", {"databases__main__file": "sessions/{session_id}.db"}, {}),
    ("database-tilde-is-a-folder-name", {"databases__main__file": "~/x.db"}, {}),
    ("output-elsewhere-inside", {"generator__output": "pkg/frozen.py"}, {}),
]


@pytest.mark.parametrize(("changes", "links"), [pytest.param(c, lk, id=i) for i, c, lk in ACCEPTED])
def test_a_path_that_stays_inside_is_accepted(changes: dict[str, Any], links: dict[str, str], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    spec = Spec(manifest(**changes), {"migrations/001_a.sql": GOOD_SQL}, argv=["build"])
    code, err = build(spec, tmp_path, monkeypatch, capsys, links)
    assert code == 0, err


# ---------------------------------------------------------------------------------------------
# Fuzzed: paths built from `..`, `.`, names, both separators, drives, shares, and symlinks
# (`link_out` -> outside the project, `link_in` -> the migrations folder). Whatever leaves, as
# POSIX or as Windows reads it, or once symlinks are followed, must be refused.

PARTS = ["..", ".", "", "a", "migrations", "link_out", "link_in", "日本", "x y", "~", "C:", "..\\..", "\\"]
PREFIXES = ["", "", "", "/", "./", "C:", "C:/", "\\\\srv\\share\\", "//srv/share/", OUTSIDE + "/"]
SLOTS = {  # slot -> (manifest key, suffix)
    "file": ("migration__0__file", ".sql"),
    "database": ("databases__main__file", ".db"),
    "migrations": ("generator__migrations", ""),
    "output": ("generator__output", ".py"),
    "lock": ("generator__lock", ".lock"),
}


@st.composite
def fuzzed_paths(draw: st.DrawFn) -> tuple[str, str]:
    slot = draw(st.sampled_from(sorted(SLOTS)))
    parts = draw(st.lists(st.sampled_from(PARTS), max_size=5))
    last = draw(st.sampled_from(["001_a", "f", "sessions/{session_id}", ""])) + SLOTS[slot][1]
    separator = draw(st.sampled_from(["/", "/", "\\"]))
    return slot, draw(st.sampled_from(PREFIXES)) + separator.join([*parts, last])


def lexically_leaves(path: str) -> bool:
    """Whether `path` leaves its folder as POSIX or as Windows reads it, symlinks aside."""
    if posixpath.isabs(path) or ntpath.isabs(path) or ntpath.splitdrive(path)[0]:
        return True
    for flavour in (posixpath, ntpath):
        normal = flavour.normpath(path)
        if normal == ".." or normal.startswith(".." + flavour.sep):
            return True
    return False


def setup_links(project: Path, outside: Path) -> None:
    (project / "link_out").symlink_to(outside)
    (project / "link_in").symlink_to(project / "migrations")
    (project / "migrations" / "link_out").symlink_to(outside)
    (project / "migrations" / "link_in").symlink_to(project / "migrations")


@fuzz(300, case=fuzzed_paths())
def test_fuzzed_paths_that_leave_are_refused(case: tuple[str, str], tmp_path: Path) -> None:
    slot, path = case
    for base in sandbox(tmp_path):
        spec = Spec(manifest(), {"migrations/001_a.sql": GOOD_SQL})
        project = materialize(spec, base)
        setup_links(project, base / "outside")
        path = path.replace(OUTSIDE, str(base / "outside"))
        key, _ = SLOTS[slot]
        data = manifest(**{key: path})
        (project / "manifest.toml").write_text(toml_document(data), encoding="utf-8")
        if slot == "database":
            leaves = lexically_leaves(path.replace("{session_id}", "x"))
        else:
            folder = project / "migrations" if slot == "file" else project
            inside = os.path.realpath(folder)
            resolved = os.path.realpath(folder / path)
            leaves = lexically_leaves(path) or not (resolved == inside or resolved.startswith(inside + os.sep))
        try:
            load_manifest(project / "manifest.toml")
        except GeneratorError as exc:
            codes = {d.code for d in exc.diagnostics}
        else:
            codes = set()
        if leaves:
            assert "MF008" in codes or (slot == "file" and "/" not in path and "MF005" in codes), (path, codes)


test_fuzzed_paths_that_leave_are_refused_soak = test_fuzzed_paths_that_leave_are_refused.soak_twin

"""The generator's write guarantee, as a reader of `_frozen.py` sees it: never a half-written file.

- A reader that opened the module before a rebuild reads the old bytes to the end, however the
  rebuild goes: the new content arrives as a new file, moved into place (not rewritten in place).
- A rebuild that cannot finish writing (the disk fills: `RLIMIT_FSIZE`, real EFBIG) leaves the
  old module byte for byte, says which file it could not write, and leaves no temporary file.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

from project import env, generator, write_project

FIRST = {"001_first.sql": "CREATE TABLE IF NOT EXISTS first (id INTEGER PRIMARY KEY);\n"}
#: A second migration whose text makes the new module much larger than the old one.
WIDE = "CREATE TABLE IF NOT EXISTS second (id INTEGER PRIMARY KEY, {});\n".format(
    ", ".join(f"column_{n:04d} TEXT" for n in range(600)))


def _built(tmp_path: Path) -> tuple[Path, bytes]:
    project = write_project(tmp_path / "project", FIRST)
    assert generator(project, "build").returncode == 0
    frozen = project / "cortexdb" / "_frozen.py"
    return project, frozen.read_bytes()


def _add_second(project: Path) -> None:
    write_project(project, {**FIRST, "002_second.sql": WIDE})


def test_a_reader_of_the_old_module_reads_it_whole_while_it_is_rebuilt(tmp_path: Path) -> None:
    project, old = _built(tmp_path)
    frozen = project / "cortexdb" / "_frozen.py"
    with frozen.open("rb") as reader:
        head = reader.read(len(old) // 2)
        _add_second(project)
        rebuilt = generator(project, "build")
        assert rebuilt.returncode == 0, rebuilt.stderr
        assert head + reader.read() == old  # not a mix of old and new, not cut short
    new = frozen.read_bytes()
    assert new != old and b"column_0599" in new


def test_a_rebuild_that_cannot_write_leaves_the_old_module_whole(tmp_path: Path) -> None:
    project, old = _built(tmp_path)
    _add_second(project)
    limit = len(old) + 1024  # room for the small files, not for the new module

    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    failed = subprocess.run([sys.executable, "-m", "generator", "build"], cwd=project,
                            env={**env(), "PYTHONDONTWRITEBYTECODE": "1"}, capture_output=True, text=True,
                            timeout=120, preexec_fn=small_disk)
    assert failed.returncode == 2, failed.stdout + failed.stderr
    assert "cortexdb/_frozen.py:1:1: MF010 cannot write: File too large" in failed.stderr
    frozen = project / "cortexdb" / "_frozen.py"
    assert frozen.read_bytes() == old
    assert sorted(p.name for p in frozen.parent.iterdir() if p.name.startswith(".")) == []
    rebuilt = generator(project, "build")  # room again: the build completes
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert b"column_0599" in frozen.read_bytes()
